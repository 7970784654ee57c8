import { toDataURL } from 'qrcode';
import { useEffect, useState } from 'react';

/** A QR code of a URL, drawn to a PNG data URL (the page's policy allows data: images). */
export function QrCode({ text, label, size = 148 }: { text: string; label: string; size?: number }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    toDataURL(text, { margin: 1, width: size, errorCorrectionLevel: 'M' }).then(
      (url) => live && setSrc(url),
      () => live && setSrc(null),
    );
    return () => {
      live = false;
    };
  }, [text, size]);
  return src ? (
    <img className="ph-qr" src={src} width={size} height={size} alt={label} />
  ) : (
    <span className="ph-qr ph-qr-empty" style={{ width: size, height: size }} role="img" aria-label={label} />
  );
}
