import { useEffect, useRef, useState } from 'react';
import { t } from '@/lib/i18n';

interface Detector {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}
declare global {
  interface Window {
    BarcodeDetector?: new (o: { formats: string[] }) => Detector;
  }
}

/** Camera scanning: the browser's BarcodeDetector where present, jsQR on canvas frames otherwise. */
export function Camera({ onCode }: { onCode: (code: string) => void }) {
  const video = useRef<HTMLVideoElement>(null);
  const [failed, setFailed] = useState(false);
  const last = useRef<{ code: string; at: number }>({ code: '', at: 0 });

  useEffect(() => {
    let stream: MediaStream | undefined;
    let stop = false;
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const emit = (code: string) => {
      const now = Date.now();
      if (code === last.current.code && now - last.current.at < 3000) return;
      last.current = { code, at: now };
      onCode(code);
    };
    (async () => {
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
        const v = video.current!;
        v.srcObject = stream;
        await v.play();
        const detector = window.BarcodeDetector ? new window.BarcodeDetector({ formats: ['qr_code'] }) : null;
        const jsQR = detector ? null : (await import('jsqr')).default;
        const tick = async () => {
          if (stop) return;
          if (v.readyState >= 2) {
            if (detector) {
              const found = await detector.detect(v).catch(() => []);
              if (found[0]) emit(found[0].rawValue);
            } else if (jsQR && ctx) {
              canvas.width = v.videoWidth;
              canvas.height = v.videoHeight;
              ctx.drawImage(v, 0, 0);
              const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
              const found = jsQR(img.data, img.width, img.height);
              if (found) emit(found.data);
            }
          }
          setTimeout(() => void tick(), 200);
        };
        void tick();
      } catch {
        setFailed(true);
      }
    })();
    return () => {
      stop = true;
      stream?.getTracks().forEach((track) => track.stop());
    };
  }, [onCode]);

  if (failed) return <p className="alert alert-warning">{t.door.noCamera}</p>;
  return <video ref={video} className="camera" muted playsInline aria-label={t.door.camera} />;
}
