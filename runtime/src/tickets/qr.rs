//! QR codes of ticket payloads: the module matrix (for the PDF) and a grayscale PNG (for screens).

use anyhow::Context;
use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel};

/// Light modules around the code, as the QR standard asks.
pub const QUIET_ZONE: usize = 4;

/// The QR matrix of `payload` at error-correction level M: `width` and, row by row from the top,
/// whether each module is dark (no quiet zone).
pub struct Matrix {
    pub width: usize,
    pub dark: Vec<bool>,
}

impl Matrix {
    /// Encodes `payload` with one fixed mask pattern rather than scoring all eight, as
    /// `QrCode::new` does: any mask makes a valid code (its format bits tell the reader which
    /// one), the scoring only evens out light and dark areas, and it was a quarter of the CPU
    /// spent issuing a flash sale's confirmation emails (each carries its tickets' PDFs).
    pub fn of(payload: &str) -> anyhow::Result<Self> {
        let bits = qrcode::bits::encode_auto(payload.as_bytes(), EcLevel::M)
            .context("encoding the QR code")?;
        let version = bits.version();
        let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M)
            .context("encoding the QR code")?;
        let mut canvas = Canvas::new(version, EcLevel::M);
        canvas.draw_all_functional_patterns();
        canvas.draw_data(&data, &ec);
        canvas.apply_mask(MaskPattern::Checkerboard);
        Ok(Self {
            width: usize::try_from(version.width()).context("QR code width")?,
            dark: canvas
                .into_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        })
    }

    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark.get(y * self.width + x).copied().unwrap_or(false)
    }
}

/// A PNG of `payload`'s QR code, `scale` pixels per module (at least 1), with the quiet zone.
pub fn png(payload: &str, scale: usize) -> anyhow::Result<Vec<u8>> {
    let matrix = Matrix::of(payload)?;
    let scale = scale.max(1);
    let side = (matrix.width + 2 * QUIET_ZONE) * scale;
    let mut pixels = vec![255u8; side * side];
    for y in 0..matrix.width {
        for x in 0..matrix.width {
            if !matrix.is_dark(x, y) {
                continue;
            }
            let (px, py) = ((x + QUIET_ZONE) * scale, (y + QUIET_ZONE) * scale);
            for row in py..py + scale {
                pixels[row * side + px..row * side + px + scale].fill(0);
            }
        }
    }
    let side32 = u32::try_from(side).context("QR image too large")?;
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side32, side32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().context("writing the PNG header")?;
        writer
            .write_image_data(&pixels)
            .context("writing the PNG data")?;
        writer.finish().context("finishing the PNG")?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_payload_makes_a_small_code_and_a_png() {
        let payload = "A".repeat(142);
        let matrix = Matrix::of(&payload).expect("qr");
        assert!(matrix.width <= 49, "version too large: {}", matrix.width);
        let bytes = png(&payload, 4).expect("png");
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    }

    /// Whenever the library's own encoder picks the same mask (about one payload in eight), it
    /// draws exactly the same code: only the mask's choice differs. (Codes with the fixed mask
    /// were also read back by zbar's `zbarimg`, by hand.)
    #[test]
    fn the_fixed_mask_code_is_the_libraries_code_with_that_mask() {
        let mut same = 0;
        for n in 0..64 {
            let payload = format!("AQJrMR8rB3VqkgmXz0c-_{n:03}-").repeat(6);
            let ours = Matrix::of(&payload).expect("qr");
            let theirs =
                qrcode::QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)
                    .expect("qr");
            assert_eq!(ours.width, theirs.width());
            let theirs: Vec<bool> = theirs
                .to_colors()
                .iter()
                .map(|c| *c == Color::Dark)
                .collect();
            if ours.dark == theirs {
                same += 1;
            }
        }
        assert!(same > 0, "no payload of 64 drew the same code");
    }
}
