#!/bin/sh
# Lambda starts every file in /opt/extensions as an external extension. This one
# runs the bundled extension with the Node binary shipped beside it, resolving
# both from its own location so the layer works from /opt or from dist/layer.
# NODE_OPTIONS and friends belong to the function's runtime, not to us.
unset NODE_OPTIONS NODE_PATH NODE_EXTRA_CA_CERTS_DISABLED
here=${0%/*}
root="$here/../lambda-trace-proxy"
exec "$root/bin/node" "$root/extension.cjs" --extension-name "${0##*/}" "$@"
