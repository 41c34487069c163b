#!/usr/bin/env python3
"""Writes the Envoy configurations of `make bench-scale` (scripts/bench-scale.sh).

    scripts/bench-scale.py WASM OUT_DIR ID:SERVICES:RULES:LISTEN:ADMIN[:PAD] ...

Each ID gets OUT_DIR/bench-scale-ID.json: the Envoy of envoy/bench-cache.yaml (one
listener answering itself with `direct_response`, this filter with its cache on,
the simulator's cluster) on ports LISTEN and ADMIN, with a generated plugin
configuration of SERVICES services with RULES mapping rules each. The bootstrap is
JSON, not YAML: Istio hands a plugin configuration over in protobuf, and Envoy's YAML
reader alone would spend several MB on a 1 MB configuration. OUT_DIR/bench-scale-ID.request
holds the authority and the path of a request that selects the LAST service and
matches only its LAST rule, and the plugin configuration's size;
OUT_DIR/bench-scale-ID.plugin.json the plugin configuration alone (for `make
bench-core`, which runs the filter's core on the same configurations without Envoy). Every service is the
simulator's service 2555417777820 (examples/sim.yaml) under its own host name, so the
application `open-app` is authorized whatever service the request selects. PAD, when
given, adds that many bytes of text to the listener's metadata, which nothing reads:
Envoy's own cost of a bootstrap that big, without the filter parsing it.
"""

import json
import sys

SERVICE_ID = "2555417777820"
TOKEN = "service-token-2555417777820"
METHODS = ["GET", "POST", "PUT", "DELETE"]
BACKEND_CLUSTER = "outbound|18181||backend.3scale.local"


def rule(index, count):
    """Rule `index` of `count`: four methods in turn (the last rule is a GET), a
    literal prefix of a few segments, then a placeholder and a literal."""
    method = METHODS[(count - 1 - index) % len(METHODS)]
    pattern = f"/api/v{index % 3}/resource-{index}/{{id}}/items"
    return {"method": method, "pattern": pattern, "usages": [{"name": "hits", "delta": 1}]}


def request_path(rules):
    last = rules - 1
    return f"/api/v{last % 3}/resource-{last}/42/items"


def authorities(index, services):
    # One service: every authority, as in the other benches.
    if services == 1:
        return ["*"]
    return [f"svc-{index}.example.com", f"svc-{index}.example.com:*"]


def plugin_config(services, rules):
    return {
        "api": "v1",
        "backend": {
            "name": "simulator",
            "upstream": {
                "name": BACKEND_CLUSTER,
                "url": "http://backend.3scale.local:18181/",
                "timeout": 5000,
            },
        },
        "cache": {"enabled": True, "ttl": 300, "flush_interval": 5},
        "services": [
            {
                "id": SERVICE_ID,
                "token": TOKEN,
                "authorities": authorities(s, services),
                "credentials": {"app_id": [{"query_string": {"keys": ["app_id"]}}]},
                "mapping_rules": [rule(r, rules) for r in range(rules)],
            }
            for s in range(services)
        ],
    }


def socket(port):
    return {"socket_address": {"address": "127.0.0.1", "port_value": int(port)}}


def wasm_filter(wasm, config_json):
    return {
        "name": "envoy.filters.http.wasm",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
            "config": {
                "name": "threescale-wasm-auth",
                "root_id": "threescale-wasm-auth",
                "failure_policy": "FAIL_RELOAD",
                "vm_config": {
                    "vm_id": "threescale-wasm-auth",
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": wasm}},
                },
                "configuration": {
                    "@type": "type.googleapis.com/google.protobuf.StringValue",
                    "value": config_json,
                },
            },
        },
    }


def envoy_config(wasm, ident, listen, admin, config_json, pad):
    listener = {
        "name": f"threescale_bench_scale_{ident}",
        "address": socket(listen),
        "enable_reuse_port": False,
        "filter_chains": [
            {
                "filters": [
                    {
                        "name": "envoy.filters.network.http_connection_manager",
                        "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                            "stat_prefix": f"threescale_bench_scale_{ident}",
                            "route_config": {
                                "name": "direct",
                                "virtual_hosts": [
                                    {
                                        "name": "api",
                                        "domains": ["*"],
                                        "routes": [
                                            {
                                                "match": {"prefix": "/"},
                                                "direct_response": {
                                                    "status": 200,
                                                    "body": {"inline_string": "ok\n"},
                                                },
                                            }
                                        ],
                                    }
                                ],
                            },
                            "http_filters": [
                                wasm_filter(wasm, config_json),
                                {
                                    "name": "envoy.filters.http.router",
                                    "typed_config": {
                                        "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
                                    },
                                },
                            ],
                        },
                    }
                ]
            }
        ],
    }
    if pad:
        listener["metadata"] = {"filter_metadata": {"pad": {"text": "x" * pad}}}
    cluster = {
        "name": BACKEND_CLUSTER,
        "type": "STATIC",
        "connect_timeout": "1s",
        "load_assignment": {
            "cluster_name": BACKEND_CLUSTER,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": socket(18181)}}]}],
        },
    }
    return {
        "static_resources": {"listeners": [listener], "clusters": [cluster]},
        "admin": {"address": socket(admin)},
    }


def main():
    wasm, out_dir, *specs = sys.argv[1:]
    for spec in specs:
        ident, services, rules, listen, admin, *pad = spec.split(":")
        services, rules, pad = int(services), int(rules), int(pad[0]) if pad else 0
        config_json = json.dumps(plugin_config(services, rules), separators=(",", ":"))
        with open(f"{out_dir}/bench-scale-{ident}.plugin.json", "w") as out:
            out.write(config_json)
        with open(f"{out_dir}/bench-scale-{ident}.json", "w") as out:
            json.dump(envoy_config(wasm, ident, listen, admin, config_json, pad), out)
        with open(f"{out_dir}/bench-scale-{ident}.request", "w") as out:
            authority = f"svc-{services - 1}.example.com" if services > 1 else "localhost"
            out.write(f"{authority} {request_path(rules)} {len(config_json)}\n")


if __name__ == "__main__":
    main()
