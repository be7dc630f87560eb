//! Photos uploaded as base64 in JSON bodies (an application photo, a check-in photo, a
//! report): decoded and checked by their content, not by what the client claims.

use base64::Engine;

/// A checked image.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub bytes: Vec<u8>,
    /// `image/png`, `image/jpeg` or `image/webp`.
    pub media_type: &'static str,
}

impl Image {
    /// The file extension for the media type.
    pub fn extension(&self) -> &'static str {
        match self.media_type {
            "image/png" => "png",
            "image/jpeg" => "jpg",
            _ => "webp",
        }
    }
}

/// Decodes base64 (a `data:image/...;base64,` prefix is allowed) and checks the image is a
/// PNG, JPEG or WebP of at most `max_bytes`. The error is a message for the field.
pub fn decode_image(encoded: &str, max_bytes: usize) -> Result<Image, String> {
    let data = encoded.trim();
    let data = match data.split_once(";base64,") {
        Some((prefix, rest)) if prefix.starts_with("data:") => rest,
        _ => data,
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|_| "must be base64".to_owned())?;
    if bytes.len() > max_bytes {
        return Err(format!("must be at most {} KiB", max_bytes / 1024));
    }
    media_type(&bytes)
        .map(|media_type| Image { bytes, media_type })
        .ok_or_else(|| "must be a PNG, JPEG or WebP image".to_owned())
}

/// The image type by its magic bytes.
pub fn media_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn images_are_recognised_by_content_and_size_checked() {
        let png = b"\x89PNG\r\n\x1a\n rest".to_vec();
        assert_eq!(
            decode_image(&b64(&png), 1024).unwrap().media_type,
            "image/png"
        );
        let data_url = format!("data:image/png;base64,{}", b64(&png));
        assert_eq!(decode_image(&data_url, 1024).unwrap().extension(), "png");
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0];
        assert_eq!(decode_image(&b64(&jpeg), 1024).unwrap().extension(), "jpg");
        assert!(decode_image("%%%", 1024).unwrap_err().contains("base64"));
        assert!(
            decode_image(&b64(b"GIF89a......"), 1024)
                .unwrap_err()
                .contains("PNG")
        );
        assert!(decode_image(&b64(&png), 4).unwrap_err().contains("at most"));
    }
}
