#!/usr/bin/env bash
# Makes sure a Vulkan driver is present so the wgpu tests have an adapter. On a machine
# without a GPU, Mesa's software rasteriser lavapipe (Debian/Ubuntu package
# mesa-vulkan-drivers) is a real Vulkan device. Installs it when missing and possible;
# otherwise says why, and the GPU tests skip with that reason.
set -u
if ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "ensure_vulkan: no Vulkan driver found; installing mesa-vulkan-drivers (lavapipe)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null) \
        || echo "ensure_vulkan: install failed; GPU tests will be skipped"
elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null \
        || echo "ensure_vulkan: install failed; GPU tests will be skipped"
else
    echo "ensure_vulkan: no Vulkan driver and no way to install one here; GPU tests will be skipped"
fi
exit 0
