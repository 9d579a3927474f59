//! Detects a layer's compression from its first bytes (media types lie often enough that docker
//! and podman sniff too) and wraps the reader in the matching decoder.

use std::io::{BufReader, Read};

const GZIP: &[u8] = &[0x1f, 0x8b];
const ZSTD: &[u8] = &[0x28, 0xb5, 0x2f, 0xfd];

/// A reader yielding the uncompressed tar from `r`, which may be gzip, zstd or plain tar.
pub fn decompressor<'a>(r: &'a mut dyn Read) -> std::io::Result<Box<dyn Read + 'a>> {
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        let k = r.read(&mut head[n..])?;
        if k == 0 {
            break;
        }
        n += k;
    }
    let prefix = std::io::Cursor::new(head[..n].to_vec());
    let joined = BufReader::with_capacity(256 * 1024, prefix.chain(r));
    Ok(if head[..n].starts_with(GZIP) {
        Box::new(flate2::bufread::MultiGzDecoder::new(joined))
    } else if head[..n].starts_with(ZSTD) {
        Box::new(zstd::stream::read::Decoder::with_buffer(joined)?)
    } else {
        Box::new(joined)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn detects_gzip_zstd_and_plain() {
        let data = b"hello layer".repeat(100);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&data).unwrap();
        let gz = gz.finish().unwrap();
        let zs = zstd::encode_all(&data[..], 3).unwrap();
        for input in [gz, zs, data.clone()] {
            let mut src = &input[..];
            let mut out = Vec::new();
            decompressor(&mut src)
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, data);
        }
    }
}
