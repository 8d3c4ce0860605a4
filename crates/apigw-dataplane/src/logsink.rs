//! Access-log output. There is no CloudWatch here: each log group (the stage's
//! `accessLogSettings.destinationArn`) becomes a file `<data-dir>/logs/<sanitised ARN>.log`, and
//! lines can also go to stdout. Writing happens on a thread of its own, off the request path.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

enum Message {
    Line { destination: String, line: String },
    Flush(mpsc::Sender<()>),
}

#[derive(Clone)]
pub struct AccessLogSink {
    tx: mpsc::Sender<Message>,
}

/// The file name for a destination ARN: anything but `[A-Za-z0-9._-]` becomes `_`.
pub fn file_name(destination: &str) -> String {
    let mut s: String = destination
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        s.push('_');
    }
    s.push_str(".log");
    s
}

impl AccessLogSink {
    /// Starts the writer thread. `dir` is created on the first line.
    pub fn start(dir: PathBuf, stdout: bool) -> AccessLogSink {
        let (tx, rx) = mpsc::channel::<Message>();
        let spawned = std::thread::Builder::new()
            .name("apigw-access-log".into())
            .spawn(move || writer(rx, &dir, stdout));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "access-log writer could not start; access logs are off");
        }
        AccessLogSink { tx }
    }

    pub fn write(&self, destination: &str, line: String) {
        let _ = self.tx.send(Message::Line {
            destination: destination.to_string(),
            line,
        });
    }

    /// Waits until every line sent so far is written (shutdown, tests).
    pub fn flush(&self) {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(Message::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(std::time::Duration::from_secs(5));
        }
    }
}

fn writer(rx: mpsc::Receiver<Message>, dir: &Path, stdout: bool) {
    let mut files: HashMap<String, BufWriter<File>> = HashMap::new();
    let mut out = std::io::stdout();
    let mut handle = |msg: Message, files: &mut HashMap<String, BufWriter<File>>| match msg {
        Message::Line { destination, line } => {
            if stdout {
                let _ = writeln!(out, "{line}");
            }
            if !files.contains_key(&destination) {
                let path = dir.join(file_name(&destination));
                let opened = std::fs::create_dir_all(dir)
                    .and_then(|_| OpenOptions::new().create(true).append(true).open(&path));
                match opened {
                    Ok(f) => {
                        files.insert(destination.clone(), BufWriter::new(f));
                    }
                    Err(e) => {
                        tracing::warn!(path = %path.display(), error = %e, "cannot open access log");
                        return;
                    }
                }
            }
            if let Some(f) = files.get_mut(&destination) {
                let _ = writeln!(f, "{line}");
            }
        }
        Message::Flush(done) => {
            for f in files.values_mut() {
                let _ = f.flush();
            }
            let _ = done.send(());
        }
    };
    while let Ok(first) = rx.recv() {
        handle(first, &mut files);
        // Drain what is queued, then flush once: a burst costs one write per file.
        while let Ok(next) = rx.try_recv() {
            handle(next, &mut files);
        }
        for f in files.values_mut() {
            let _ = f.flush();
        }
        if stdout {
            let _ = std::io::stdout().flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            file_name("arn:aws:logs:us-east-1:000000000000:log-group:my/group"),
            "arn_aws_logs_us-east-1_000000000000_log-group_my_group.log"
        );
    }
}
