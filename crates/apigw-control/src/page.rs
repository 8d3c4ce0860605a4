//! `maxResults` / `nextToken` pagination for every Get*s operation. Tokens are opaque
//! (base64url of the last key returned) and stable across restarts.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

use apigw_model::{Result, ServiceError};

/// Largest page we hand out; also the page size when `maxResults` is absent (decisions.md).
pub const MAX_PAGE: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub max_results: Option<String>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// Cuts one page out of `items` (already in key order).
pub fn paginate<T: Clone>(items: Vec<(&str, &T)>, req: &PageRequest) -> Result<Page<T>> {
    let limit = match req.max_results.as_deref() {
        None | Some("") => MAX_PAGE,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(ServiceError::bad_request(format!(
                    "Invalid maxResults specified: {s}. Must be an integer between 1 and {MAX_PAGE}"
                )))
            }
        },
    };
    let after = match req.next_token.as_deref() {
        None | Some("") => None,
        Some(t) => Some(
            URL_SAFE_NO_PAD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ServiceError::bad_request(format!("Invalid nextToken specified: {t}"))
                })?,
        ),
    };
    let mut rest = items
        .into_iter()
        .filter(|(k, _)| after.as_deref().is_none_or(|a| *k > a))
        .peekable();
    let mut page = Vec::new();
    let mut last = None;
    while page.len() < limit {
        match rest.next() {
            Some((k, v)) => {
                last = Some(k);
                page.push(v.clone());
            }
            None => break,
        }
    }
    let next_token = match (rest.peek(), last) {
        (Some(_), Some(k)) => Some(URL_SAFE_NO_PAD.encode(k)),
        _ => None,
    };
    Ok(Page {
        items: page,
        next_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_all_pages() {
        let keys: Vec<String> = (0..7).map(|i| format!("k{i}")).collect();
        let vals: Vec<u32> = (0..7).collect();
        let mut seen = Vec::new();
        let mut req = PageRequest {
            max_results: Some("3".into()),
            next_token: None,
        };
        loop {
            let items: Vec<(&str, &u32)> =
                keys.iter().map(String::as_str).zip(vals.iter()).collect();
            let p = paginate(items, &req).unwrap();
            seen.extend(p.items);
            match p.next_token {
                Some(t) => req.next_token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, vals);
        let items: Vec<(&str, &u32)> = keys.iter().map(String::as_str).zip(vals.iter()).collect();
        assert!(paginate(
            items,
            &PageRequest {
                max_results: Some("0".into()),
                next_token: None
            }
        )
        .is_err());
    }
}
