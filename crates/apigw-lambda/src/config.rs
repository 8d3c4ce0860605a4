//! Which functions this gateway hosts: `--function NAME=COMMAND` and the JSON file of
//! `--functions-config PATH`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Lambda's default function timeout (CreateFunction `Timeout`), seconds.
pub const DEFAULT_TIMEOUT_SECS: u64 = 3;
/// Lambda's default memory size, MB (only reported to the function; not enforced).
pub const DEFAULT_MEMORY_MB: u32 = 128;
/// Execution environments per function when the configuration sets none: a local machine
/// is not a Lambda region, so far below Lambda's 1000 per account.
pub const DEFAULT_CONCURRENCY: u32 = 10;

/// One hosted function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionConfig {
    pub name: String,
    /// Run with `/bin/sh -c "exec COMMAND"` in `working_dir`.
    pub command: String,
    /// Extra environment variables for the function.
    pub environment: BTreeMap<String, String>,
    /// `_HANDLER`; defaults to the command's last word (`app.handler` for
    /// `python3 -m awslambdaric app.handler`).
    pub handler: String,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// Most execution environments alive at once; more invocations wait for one.
    pub concurrency: u32,
    /// Directory the process starts in; also `LAMBDA_TASK_ROOT`.
    pub working_dir: Option<PathBuf>,
}

/// A bad `--function` or `--functions-config`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

fn valid_function_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

impl FunctionConfig {
    /// A function with Lambda's defaults.
    pub fn new(name: &str, command: &str) -> Result<FunctionConfig, ConfigError> {
        if !valid_function_name(name) {
            return Err(ConfigError(format!(
                "function name {name:?} must be 1-64 letters, digits, '-' or '_'"
            )));
        }
        if command.trim().is_empty() {
            return Err(ConfigError(format!("function {name} has an empty command")));
        }
        Ok(FunctionConfig {
            name: name.to_string(),
            command: command.to_string(),
            environment: BTreeMap::new(),
            handler: command.split_whitespace().last().unwrap_or("").to_string(),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            memory_mb: DEFAULT_MEMORY_MB,
            concurrency: DEFAULT_CONCURRENCY,
            working_dir: None,
        })
    }

    /// Parses `--function NAME=COMMAND`.
    pub fn from_flag(flag: &str) -> Result<FunctionConfig, ConfigError> {
        match flag.split_once('=') {
            Some((name, cmd)) if !name.is_empty() && !cmd.trim().is_empty() => {
                FunctionConfig::new(name, cmd)
            }
            _ => Err(ConfigError(format!(
                "--function expects NAME=COMMAND, got {flag:?}"
            ))),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    functions: BTreeMap<String, FileFunction>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FileFunction {
    command: Option<String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    handler: Option<String>,
    timeout: Option<u64>,
    memory_size: Option<u32>,
    reserved_concurrency: Option<u32>,
    working_directory: Option<PathBuf>,
}

/// Reads a `--functions-config` file; `flags` (`--function`) override a file entry's
/// command or add functions.
pub fn load(file: Option<&Path>, flags: &[String]) -> Result<Vec<FunctionConfig>, ConfigError> {
    let mut out: Vec<FunctionConfig> = Vec::new();
    let mut file_entries = BTreeMap::new();
    let mut base = PathBuf::from(".");
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        let parsed: FileFormat = serde_json::from_str(&text)
            .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
        file_entries = parsed.functions;
        base = path.parent().map(Path::to_path_buf).unwrap_or(base);
    }
    let flag_configs = flags
        .iter()
        .map(|f| FunctionConfig::from_flag(f))
        .collect::<Result<Vec<_>, _>>()?;
    for (name, f) in file_entries {
        let command = flag_configs
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.command.clone())
            .or(f.command)
            .ok_or_else(|| ConfigError(format!("function {name} has no command")))?;
        let mut c = FunctionConfig::new(&name, &command)?;
        for k in f.environment.keys() {
            let ok = k.len() >= 2
                && k.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !ok {
                return Err(ConfigError(format!(
                    "function {name}: environment variable name {k:?} is not valid"
                )));
            }
        }
        c.environment = f.environment;
        if let Some(h) = f.handler {
            c.handler = h;
        }
        if let Some(t) = f.timeout {
            if !(1..=900).contains(&t) {
                return Err(ConfigError(format!(
                    "function {name}: timeout must be 1-900 seconds"
                )));
            }
            c.timeout = Duration::from_secs(t);
        }
        if let Some(m) = f.memory_size {
            if !(128..=10240).contains(&m) {
                return Err(ConfigError(format!(
                    "function {name}: memorySize must be 128-10240 MB"
                )));
            }
            c.memory_mb = m;
        }
        if let Some(r) = f.reserved_concurrency {
            if r == 0 {
                return Err(ConfigError(format!(
                    "function {name}: reservedConcurrency must be at least 1"
                )));
            }
            c.concurrency = r;
        }
        c.working_dir = f.working_directory.map(|d| base.join(d));
        out.push(c);
    }
    for c in flag_configs {
        if out.iter().any(|o| o.name == c.name) {
            continue;
        }
        out.push(c);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_file() {
        assert!(FunctionConfig::from_flag("hello").is_err());
        assert!(FunctionConfig::from_flag("=x").is_err());
        assert!(FunctionConfig::from_flag("a b=x").is_err());
        let c = FunctionConfig::from_flag("hello=python3 -m awslambdaric app.handler").unwrap();
        assert_eq!(c.handler, "app.handler");
        assert_eq!(c.concurrency, DEFAULT_CONCURRENCY);

        let dir = std::env::temp_dir().join(format!("apigw-lambda-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("functions.json");
        std::fs::write(
            &file,
            r#"{"functions": {"a": {"command": "./a", "environment": {"GREETING": "hi"},
                "handler": "h", "timeout": 10, "memorySize": 256, "reservedConcurrency": 2,
                "workingDirectory": "fn"}, "b": {"timeout": 5}}}"#,
        )
        .unwrap();
        let all = load(Some(&file), &["b=./b".to_string(), "c=./c".to_string()]).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].timeout, Duration::from_secs(10));
        assert_eq!(all[0].memory_mb, 256);
        assert_eq!(all[0].concurrency, 2);
        assert_eq!(all[0].environment["GREETING"], "hi");
        assert_eq!(
            all[0].working_dir.as_deref(),
            Some(dir.join("fn").as_path())
        );
        assert_eq!(all[1].command, "./b");
        assert_eq!(all[1].timeout, Duration::from_secs(5));
        assert_eq!(all[2].name, "c");

        std::fs::write(
            &file,
            r#"{"functions": {"a": {"command": "x", "timeout": 0}}}"#,
        )
        .unwrap();
        assert!(load(Some(&file), &[]).is_err());
        std::fs::write(&file, r#"{"functions": {"a": {"cmd": "x"}}}"#).unwrap();
        assert!(load(Some(&file), &[]).is_err());
        std::fs::write(&file, r#"{"functions": {"a": {}}}"#).unwrap();
        assert!(load(Some(&file), &[]).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
