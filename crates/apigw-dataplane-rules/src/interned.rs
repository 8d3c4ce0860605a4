//! Header names and values compiled into a routing snapshot, made `'static`.
//!
//! Why: a `HeaderName` or `HeaderValue` parsed at run time holds reference-counted bytes, and
//! every request that clones one from the shared snapshot increments and decrements that
//! count. With one event loop per core, every loop does so on the same cache line, which then
//! bounces between cores on every request. A `'static` one clones without touching memory.
//! The text is interned: each distinct name or value is leaked once per process, however
//! often snapshots are rebuilt, so the memory is bounded by the configuration's distinct
//! strings.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, PoisonError};

use http::{HeaderName, HeaderValue};

fn intern(text: &str) -> &'static str {
    static SEEN: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(s) = seen.get(text) {
        return s;
    }
    let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
    seen.insert(leaked);
    leaked
}

/// `name`, with `'static` bytes.
pub fn name(name: &HeaderName) -> HeaderName {
    // A valid name's text is lower case and valid again.
    HeaderName::from_static(intern(name.as_str()))
}

/// `text` as a header value with `'static` bytes, when it is a valid one (visible ASCII and
/// spaces; `from_static` accepts nothing else).
pub fn value(text: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(text).ok()?;
    if !text
        .bytes()
        .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
    {
        return None;
    }
    Some(HeaderValue::from_static(intern(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interned_names_and_values_equal_parsed_ones() {
        let n = HeaderName::from_bytes(b"X-Stage").unwrap();
        assert_eq!(name(&n), n);
        assert_eq!(name(&http::header::HOST), http::header::HOST);
        assert_eq!(value("127.0.0.1:8080").unwrap(), "127.0.0.1:8080");
        assert_eq!(value("a\tb").unwrap(), "a\tb");
        assert!(value("bad\r\nvalue").is_none());
        assert!(
            value("caf\u{e9}").is_none(),
            "obs-text stays a run-time value"
        );
        // The same text is leaked once.
        assert!(std::ptr::eq(intern("x-once"), intern("x-once")));
    }
}
