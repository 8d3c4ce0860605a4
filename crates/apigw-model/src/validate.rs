//! Small checks shared by every resource: lengths, patterns, ranges.

use crate::error::{Result, ServiceError};

/// Length in characters (the model's limits are in Unicode characters).
pub fn length(member: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ServiceError::BadRequest(format!(
            "Invalid {member} specified. Length must be between {min} and {max} characters"
        )));
    }
    Ok(())
}

pub fn opt_length(member: &str, value: &Option<String>, min: usize, max: usize) -> Result<()> {
    match value {
        Some(v) => length(member, v, min, max),
        None => Ok(()),
    }
}

pub fn range_i64(member: &str, value: i64, min: i64, max: i64) -> Result<()> {
    if value < min || value > max {
        return Err(ServiceError::BadRequest(format!(
            "Invalid {member} specified. Must be between {min} and {max}"
        )));
    }
    Ok(())
}

/// HTTP methods API Gateway accepts in route keys, integration methods and CORS.
pub const HTTP_METHODS: &[&str] = &[
    "ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT",
];

pub fn is_http_method(m: &str) -> bool {
    HTTP_METHODS.contains(&m)
}

/// Tag keys 1–128 and values 0–1600 characters, no `aws:` prefix, at most 50 tags.
pub fn tags(tags: &std::collections::BTreeMap<String, String>) -> Result<()> {
    if tags.len() > 50 {
        return Err(ServiceError::bad_request(
            "Too many tags: at most 50 tags are allowed",
        ));
    }
    for (k, v) in tags {
        length("tag key", k, 1, 128)?;
        length("tag value", v, 0, 1600)?;
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(ServiceError::bad_request(format!(
                "Invalid tag key specified: {k}. Tag keys may not start with aws:"
            )));
        }
    }
    Ok(())
}
