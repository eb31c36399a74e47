import { useEffect, useState } from 'react';

/** The QR code of a ticket payload, rendered on the device (qrcode, loaded on demand). */
export function QrCode({ payload, label }: { payload: string; label: string }) {
  const [src, setSrc] = useState<string>();
  useEffect(() => {
    let live = true;
    void import('qrcode').then((QR) =>
      QR.toDataURL(payload, { errorCorrectionLevel: 'M', margin: 2, width: 640 }).then((url) => live && setSrc(url)),
    );
    return () => {
      live = false;
    };
  }, [payload]);
  return src ? <img className="qr" src={src} alt={label} width={320} height={320} /> : <div className="qr qr-placeholder" aria-hidden="true" />;
}
