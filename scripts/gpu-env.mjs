// Environment for WebGPU on GPU-less machines: lavapipe (Mesa >= 25) when installed, else
// SwiftShader's Vulkan ICD from Debian's chromium. A GPU machine keeps its own driver.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function gpuEnv(base = process.env) {
  const env = { ...base };
  if (!env.VK_ICD_FILENAMES && !env.BERTGPU_NATIVE_VULKAN) {
    for (const icd of ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/lib/chromium/vk_swiftshader_icd.json']) {
      if (existsSync(icd)) {
        env.VK_ICD_FILENAMES = icd;
        break;
      }
    }
  }
  if (!env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = mkdtempSync(join(tmpdir(), 'bertgpu-xdg-'));
  return env;
}
