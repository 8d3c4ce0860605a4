//! The `Date` header every response carries (RFC 9110 §6.6.1), in IMF-fixdate form, rendered
//! at most once a second per thread.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use apigw_model::time::civil_from_days;

/// `Sun, 06 Nov 1994 08:49:37 GMT`
pub const LEN: usize = 29;

thread_local! {
    static CACHED: RefCell<(u64, [u8; LEN])> = const { RefCell::new((u64::MAX, [0; LEN])) };
}

/// Appends the current date to `out`.
pub fn append_now(out: &mut Vec<u8>) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    CACHED.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            *c = (secs, render(secs));
        }
        out.extend_from_slice(&c.1);
    });
}

fn render(secs: u64) -> [u8; LEN] {
    const DAYS: [&[u8; 3]; 7] = [b"Thu", b"Fri", b"Sat", b"Sun", b"Mon", b"Tue", b"Wed"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let days = (secs / 86_400) as i64;
    let (year, month, day) = civil_from_days(days);
    let in_day = secs % 86_400;
    let mut out = [0u8; LEN];
    out[..3].copy_from_slice(DAYS[(days % 7) as usize]);
    out[3..5].copy_from_slice(b", ");
    two(&mut out[5..7], day as u64);
    out[7] = b' ';
    out[8..11].copy_from_slice(MONTHS[(month - 1).clamp(0, 11) as usize]);
    out[11] = b' ';
    let year = year.clamp(0, 9999) as u64;
    two(&mut out[12..14], year / 100);
    two(&mut out[14..16], year % 100);
    out[16] = b' ';
    two(&mut out[17..19], in_day / 3600);
    out[19] = b':';
    two(&mut out[20..22], in_day / 60 % 60);
    out[22] = b':';
    two(&mut out[23..25], in_day % 60);
    out[25..].copy_from_slice(b" GMT");
    out
}

fn two(out: &mut [u8], n: u64) {
    out[0] = b'0' + (n / 10 % 10) as u8;
    out[1] = b'0' + (n % 10) as u8;
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn imf_fixdate() {
        assert_eq!(&render(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&render(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        // 2024-02-29 23:59:59, a leap day.
        assert_eq!(&render(1_709_251_199), b"Thu, 29 Feb 2024 23:59:59 GMT");
    }
}
