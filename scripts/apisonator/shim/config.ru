# apisonator's listener (its own config.ru) with an inline-jobs mode: with
# APISONATOR_INLINE_JOBS=1 a report job runs inside the request that queued it,
# so usage is committed before the answer leaves and tests need no polling.
ENV['BACKEND_COMPONENT'] = 'listener'
require '3scale/bundler_shim'
require '3scale/backend/rack'
if ENV['APISONATOR_INLINE_JOBS'] == '1'
  require '3scale/backend/logging/worker'
  ThreeScale::Backend::Logging::Worker.configure_logging(ThreeScale::Backend::Worker, nil)
  Resque.inline = true
end
ThreeScale::Backend::Rack.run self
