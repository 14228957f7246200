# Unpacks the device kit: node, dawn.node, the Vulkan loader; run from the repo root.
set -e
K=.devkit
if [ -d .gl ]; then for f in .gl/*.deb; do dpkg -x $f /; done; ldconfig; fi
[ -x /tmp/kit-node ] || xz -dc $K/node.xz > /tmp/kit-node; chmod +x /tmp/kit-node
[ -f $K/node_modules/webgpu/dist/linux-x64/dawn.node ] || xz -dc $K/dawn.node.xz > $K/node_modules/webgpu/dist/linux-x64/dawn.node
/tmp/kit-node --version
