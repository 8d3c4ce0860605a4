//! Clock renderings Lambda and API Gateway use (UTC only).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn since_epoch(t: SystemTime) -> Duration {
    t.duration_since(UNIX_EPOCH).unwrap_or_default()
}

pub fn epoch_millis(t: SystemTime) -> u64 {
    since_epoch(t).as_millis() as u64
}

/// `(year, month 1-12, day, hour, minute, second)` in UTC.
fn civil(t: SystemTime) -> (i64, i64, i64, i64, i64, i64) {
    let secs = since_epoch(t).as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = apigw_model::time::civil_from_days(days);
    (y, m, d, rem / 3600, (rem / 60) % 60, rem % 60)
}

/// Common Log Format time, `21/Apr/2020:15:08:21 +0000` (`requestContext.time`).
pub fn clf(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss) = civil(t);
    let month = MONTHS[((m - 1).clamp(0, 11)) as usize];
    format!("{d:02}/{month}/{y:04}:{hh:02}:{mm:02}:{ss:02} +0000")
}

/// SigV4 `X-Amz-Date`, `20150830T123600Z`.
pub fn amz_date(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss) = civil(t);
    format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
}

/// `2026-11-25T08:15:58.123Z`, as Lambda prefixes timeout messages.
pub fn iso_millis(t: SystemTime) -> String {
    let (y, m, d, hh, mm, ss) = civil(t);
    let ms = since_epoch(t).subsec_millis();
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_spec_examples() {
        // 1587481701067 is "21/Apr/2020:15:08:21 +0000" in the captured v2 event.
        let t = UNIX_EPOCH + Duration::from_millis(1_587_481_701_067);
        assert_eq!(clf(t), "21/Apr/2020:15:08:21 +0000");
        assert_eq!(epoch_millis(t), 1_587_481_701_067);
        assert_eq!(amz_date(t), "20200421T150821Z");
        assert_eq!(iso_millis(t), "2020-04-21T15:08:21.067Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(clf(t), "29/Feb/2000:00:00:00 +0000");
    }
}
