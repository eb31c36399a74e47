// A fake camera for Chromium (--use-file-for-fake-video-capture): a Y4M video showing a QR code.
import { writeFileSync } from 'node:fs';
import QRCode from 'qrcode';

export const FAKE_CAMERA = '/tmp/evently-e2e-camera.y4m';

export function showOnCamera(text: string) {
  const qr = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const size = qr.modules.size;
  const scale = 6;
  const quiet = 4;
  const W = 640;
  const H = 480;
  const side = (size + 2 * quiet) * scale;
  const x0 = Math.floor((W - side) / 2);
  const y0 = Math.floor((H - side) / 2);
  const y = Buffer.alloc(W * H, 60);
  for (let j = 0; j < side; j++) {
    for (let i = 0; i < side; i++) {
      const mx = Math.floor(i / scale) - quiet;
      const my = Math.floor(j / scale) - quiet;
      const dark = mx >= 0 && my >= 0 && mx < size && my < size && qr.modules.get(my, mx);
      y[(y0 + j) * W + x0 + i] = dark ? 16 : 235;
    }
  }
  const chroma = Buffer.alloc((W / 2) * (H / 2) * 2, 128);
  const frame = Buffer.concat([Buffer.from('FRAME\n'), y, chroma]);
  writeFileSync(FAKE_CAMERA, Buffer.concat([Buffer.from(`YUV4MPEG2 W${W} H${H} F5:1 Ip A1:1 C420jpeg\n`), frame, frame]));
}
