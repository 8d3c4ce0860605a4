//! Header names as they arrive on the wire, turned into `HeaderName`s. The names nearly every
//! message carries are recognised by length and a case-insensitive compare; the rest go
//! through `HeaderName::from_bytes`, which lowercases into a scratch buffer and then matches
//! (about twice the work per name).

use http::header::{self, HeaderName, InvalidHeaderName};

const X_AMZ_DATE: HeaderName = HeaderName::from_static("x-amz-date");
const X_AMZ_TARGET: HeaderName = HeaderName::from_static("x-amz-target");
const X_AMZ_CONTENT_SHA256: HeaderName = HeaderName::from_static("x-amz-content-sha256");
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");

/// `raw` as a header name (any case on the wire; lower case in the result).
pub fn header_name(raw: &[u8]) -> Result<HeaderName, InvalidHeaderName> {
    // Match arms, not a table: `HeaderName` has drop glue, so a table of them would be built
    // afresh on every call.
    let is = |spelling: &[u8]| raw.eq_ignore_ascii_case(spelling);
    Ok(match raw.len() {
        4 if is(b"host") => header::HOST,
        4 if is(b"date") => header::DATE,
        4 if is(b"vary") => header::VARY,
        4 if is(b"etag") => header::ETAG,
        6 if is(b"server") => header::SERVER,
        6 if is(b"accept") => header::ACCEPT,
        6 if is(b"origin") => header::ORIGIN,
        6 if is(b"cookie") => header::COOKIE,
        6 if is(b"expect") => header::EXPECT,
        10 if is(b"user-agent") => header::USER_AGENT,
        10 if is(b"connection") => header::CONNECTION,
        10 if is(b"set-cookie") => header::SET_COOKIE,
        10 if is(b"x-amz-date") => X_AMZ_DATE,
        10 if is(b"keep-alive") => KEEP_ALIVE,
        12 if is(b"content-type") => header::CONTENT_TYPE,
        12 if is(b"x-amz-target") => X_AMZ_TARGET,
        13 if is(b"authorization") => header::AUTHORIZATION,
        13 if is(b"cache-control") => header::CACHE_CONTROL,
        13 if is(b"last-modified") => header::LAST_MODIFIED,
        13 if is(b"accept-ranges") => header::ACCEPT_RANGES,
        14 if is(b"content-length") => header::CONTENT_LENGTH,
        15 if is(b"accept-encoding") => header::ACCEPT_ENCODING,
        15 if is(b"accept-language") => header::ACCEPT_LANGUAGE,
        15 if is(b"x-forwarded-for") => X_FORWARDED_FOR,
        16 if is(b"content-encoding") => header::CONTENT_ENCODING,
        17 if is(b"transfer-encoding") => header::TRANSFER_ENCODING,
        20 if is(b"x-amz-content-sha256") => X_AMZ_CONTENT_SHA256,
        _ => return HeaderName::from_bytes(raw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_names_match_the_general_parser() {
        for raw in [
            "Host",
            "DATE",
            "vary",
            "ETag",
            "Server",
            "Accept",
            "Origin",
            "Cookie",
            "Expect",
            "User-Agent",
            "Connection",
            "Set-Cookie",
            "X-Amz-Date",
            "Keep-Alive",
            "Content-Type",
            "X-Amz-Target",
            "Authorization",
            "Cache-Control",
            "Last-Modified",
            "Accept-Ranges",
            "Content-Length",
            "Accept-Encoding",
            "Accept-Language",
            "X-Forwarded-For",
            "Content-Encoding",
            "Transfer-Encoding",
            "X-Amz-Content-Sha256",
            "X-Other",
            "hosts",
            "x-amz-datE",
        ] {
            assert_eq!(
                header_name(raw.as_bytes()).unwrap(),
                HeaderName::from_bytes(raw.as_bytes()).unwrap(),
                "{raw}"
            );
        }
        assert!(header_name(b"bad name").is_err());
        assert!(header_name(b"").is_err());
    }
}
