//! Identifier formats shared by the wire layers (the randomness comes from the caller).

/// A version-4 UUID in its canonical lowercase form (`8-4-4-4-12` hex digits), the shape of
/// `x-amzn-RequestId` and of Lambda request ids, built from 128 random bits.
///
/// Written by hand rather than with `format!`: every control-plane response carries one.
pub fn uuid_v4(random: u128) -> String {
    // Version nibble 4 and variant bits 10xx, as RFC 9562 §5.4 requires.
    let v = (random & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 36];
    let mut nibble = 32;
    for (i, slot) in out.iter_mut().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            *slot = b'-';
        } else {
            nibble -= 1;
            *slot = HEX[((v >> (nibble * 4)) & 0xf) as usize];
        }
    }
    out.iter().copied().map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_v4_shape() {
        let id = uuid_v4(0);
        assert_eq!(id, "00000000-0000-4000-8000-000000000000");
        let id = uuid_v4(u128::MAX);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let id = uuid_v4(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(id, "01234567-89ab-4def-8123-456789abcdef");
    }
}
