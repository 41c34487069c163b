#!/usr/bin/env python3
"""Writes the Envoy configurations of `make bench-scale` (scripts/bench-scale.sh).

    scripts/bench-scale.py TEMPLATE WASM OUT_DIR ID:SERVICES:RULES:LISTEN:ADMIN[:PAD] ...

Each ID gets OUT_DIR/bench-scale-ID.yaml: TEMPLATE (envoy/bench-cache.yaml) with
its ports, stat prefix and module replaced, and a generated plugin configuration
of SERVICES services with RULES mapping rules each; OUT_DIR/bench-scale-ID.request
holds the authority and the path of a request that selects the LAST service and
matches only its LAST rule. Every service is the simulator's service
2555417777820 (examples/sim.yaml) under its own host name, so the application
`open-app` is authorized whatever service the request selects. PAD, when given,
adds that many bytes of text to the listener's metadata, which nothing reads: the
cost for Envoy itself of a bootstrap that big, without the filter parsing it.
"""

import json
import re
import sys

SERVICE_ID = "2555417777820"
TOKEN = "service-token-2555417777820"
METHODS = ["GET", "POST", "PUT", "DELETE"]


def rule(index, count):
    """Rule `index` of `count`: four methods in turn (the last rule is a GET), a
    literal prefix of a few segments, then a placeholder and a literal."""
    method = METHODS[(count - 1 - index) % len(METHODS)]
    pattern = f"/api/v{index % 3}/resource-{index}/{{id}}/items"
    return {"method": method, "pattern": pattern, "usages": [{"name": "hits", "delta": 1}]}


def request_path(rules):
    last = rules - 1
    return f"/api/v{last % 3}/resource-{last}/42/items"


def host(index, services):
    # One service: the request's own host, as in the other benches.
    return "*" if services == 1 else f"svc-{index}.example.com"


def plugin_config(services, rules):
    return {
        "api": "v1",
        "backend": {
            "name": "simulator",
            "upstream": {
                "name": "outbound|18181||backend.3scale.local",
                "url": "http://backend.3scale.local:18181/",
                "timeout": 5000,
            },
        },
        "cache": {"enabled": True, "ttl": 300, "flush_interval": 5},
        "services": [
            {
                "id": SERVICE_ID,
                "token": TOKEN,
                "authorities": [host(s, services)]
                + ([] if services == 1 else [f"svc-{s}.example.com:*"]),
                "credentials": {"app_id": [{"query_string": {"keys": ["app_id"]}}]},
                "mapping_rules": [rule(r, rules) for r in range(rules)],
            }
            for s in range(services)
        ],
    }


def envoy_config(template, wasm, ident, listen, admin, config_json, pad):
    text = template.replace("18103", listen).replace("19103", admin)
    text = text.replace("threescale_bench_cache", f"threescale_bench_scale_{ident}")
    text = text.replace("filename: target/threescale_wasm_auth.wasm", f"filename: {wasm}")
    # The `value: |` block of the template, up to the next less indented line.
    block = re.compile(r"^( *)value: \|\n(?:\1 .*\n|\n)+", re.MULTILINE)
    # A JSON string is a YAML double-quoted scalar.
    replaced, count = block.subn(
        lambda m: f"{m.group(1)}value: {json.dumps(config_json)}\n", text, count=1
    )
    if count != 1:
        sys.exit("bench-scale.py: the template has no `value: |` block")
    if pad:
        listener = f"    - name: threescale_bench_scale_{ident}\n"
        metadata = f"      metadata: {{ filter_metadata: {{ pad: {{ text: {json.dumps('x' * pad)} }} }} }}\n"
        if listener not in replaced:
            sys.exit("bench-scale.py: the template's listener is not where expected")
        replaced = replaced.replace(listener, listener + metadata, 1)
    return replaced


def main():
    template_path, wasm, out_dir, *specs = sys.argv[1:]
    template = open(template_path).read()
    for spec in specs:
        ident, services, rules, listen, admin, *pad = spec.split(":")
        services, rules, pad = int(services), int(rules), int(pad[0]) if pad else 0
        config_json = json.dumps(plugin_config(services, rules), separators=(",", ":"))
        with open(f"{out_dir}/bench-scale-{ident}.yaml", "w") as out:
            out.write(envoy_config(template, wasm, ident, listen, admin, config_json, pad))
        with open(f"{out_dir}/bench-scale-{ident}.request", "w") as out:
            authority = f"svc-{services - 1}.example.com" if services > 1 else "localhost"
            out.write(f"{authority} {request_path(rules)} {len(config_json)}\n")


if __name__ == "__main__":
    main()
