//! The `Date` header every response carries (RFC 9110 §6.6.1), in IMF-fixdate form, rendered
//! at most once a second per thread.

use std::cell::RefCell;
use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `Sun, 06 Nov 1994 08:49:37 GMT`
pub const LEN: usize = 29;

/// 9999-12-31T23:59:59Z, the last time IMF-fixdate (and `httpdate`) can write.
const LAST: u64 = 253_402_300_799;

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

/// Renders by `httpdate` (hyper's formatter), once a second per thread.
fn render(secs: u64) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    let date = httpdate::HttpDate::from(UNIX_EPOCH + Duration::from_secs(secs.min(LAST)));
    // Always exactly LEN bytes: `write!` into the array cannot fall short.
    let _ = write!(&mut out[..], "{date}");
    out
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
        // Past what the format can write: the last date it can, not a panic.
        assert_eq!(&render(u64::MAX), b"Fri, 31 Dec 9999 23:59:59 GMT");
    }
}
