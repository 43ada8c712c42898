"""Metrics: PSNR, SSIM, LMD, FID, LSE-C/LSE-D, LPIPS (imported as `stfbench.metrics`)."""
