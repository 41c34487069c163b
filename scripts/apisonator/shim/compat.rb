# Preloaded (RUBYOPT=-r) into apisonator's processes. Apisonator 3.4.3 was
# written for 3scale's fork of redis-rb 4.1.3; Debian 12 has redis-rb 4.8.
require 'bundler/setup'
require 'redis'
# 4.8 warns about pipelined/multi without a block argument; the calls still work.
Redis.silence_deprecations = true
# 4.1.3 answered exists(key) with true/false; 4.8's integer 0 is truthy in Ruby,
# which would make every application exist.
Redis.exists_returns_integer = false
