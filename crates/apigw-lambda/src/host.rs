//! Hosted functions: execution environments (one child process each, with its own Runtime
//! API listener), started on demand up to a function's concurrency, kept warm and reused,
//! replaced when they crash or time out.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::sync::{oneshot, Notify, Semaphore};

use crate::config::FunctionConfig;
use crate::error::LambdaError;
use crate::runtime_api;

/// Lambda's limit for the init phase of an on-demand environment.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an invocation's log `X-Amz-Log-Result` carries.
pub const LOG_TAIL_BYTES: usize = 4096;

/// A function that ran and failed: Lambda's `X-Amz-Function-Error: Unhandled` with the
/// error document as payload.
#[derive(Debug, Clone)]
pub(crate) struct FunctionFailure {
    pub payload: Bytes,
}

impl FunctionFailure {
    pub fn new(error_type: &str, message: &str) -> FunctionFailure {
        let doc = serde_json::json!({"errorMessage": message, "errorType": error_type});
        FunctionFailure {
            payload: Bytes::from(doc.to_string()),
        }
    }
}

pub(crate) type Reply = Result<Bytes, FunctionFailure>;

/// An event waiting for the environment's runtime to ask for it.
pub(crate) struct Dispatch {
    pub request_id: String,
    pub payload: Bytes,
    pub client_context: Option<String>,
    pub trace_id: String,
    pub log: Arc<Mutex<Vec<u8>>>,
    pub started: oneshot::Sender<()>,
    pub reply: oneshot::Sender<Reply>,
}

/// The event the runtime is working on.
pub(crate) struct InFlight {
    pub request_id: String,
    pub reply: oneshot::Sender<Reply>,
}

#[derive(Default)]
pub(crate) struct EnvState {
    pub pending: Option<Dispatch>,
    pub in_flight: Option<InFlight>,
    /// The runtime has asked for its first event: init is over.
    pub initialized: bool,
    pub init_error: Option<FunctionFailure>,
    pub dead: bool,
    /// The request the process's output belongs to (the last one handed out).
    pub current: Option<(String, Arc<Mutex<Vec<u8>>>)>,
}

/// What one environment's Runtime API and the gateway share.
pub(crate) struct EnvShared {
    pub function_name: String,
    pub function_arn: String,
    pub timeout: Duration,
    pub state: Mutex<EnvState>,
    /// Wakes a runtime waiting in `next` (new event, or the environment died).
    pub notify: Notify,
    /// Tells the process watcher to kill the process.
    kill: Notify,
}

impl EnvShared {
    pub fn lock(&self) -> MutexGuard<'_, EnvState> {
        // A poisoned lock only means a panic elsewhere; the state itself stays usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fail_all(&self, st: &mut EnvState, failure: &FunctionFailure) {
        if let Some(d) = st.pending.take() {
            let _ = d.reply.send(Err(failure.clone()));
        }
        if let Some(f) = st.in_flight.take() {
            let _ = f.reply.send(Err(failure.clone()));
        }
    }

    /// Kills the process; whatever it was doing fails with `failure`.
    pub fn kill(&self, failure: Option<FunctionFailure>) {
        {
            let mut st = self.lock();
            st.dead = true;
            if let Some(f) = failure {
                self.fail_all(&mut st, &f);
            }
        }
        self.notify.notify_waiters();
        self.kill.notify_one();
    }

    /// Called by `init/error`: the invocation fails with the runtime's error, the process
    /// is replaced.
    pub fn init_failed(&self, failure: FunctionFailure) {
        let mut st = self.lock();
        st.init_error = Some(failure.clone());
        // Never reused: the process is killed shortly (see the Runtime API's init/error).
        st.dead = true;
        self.fail_all(&mut st, &failure);
    }
}

struct Environment {
    id: u64,
    shared: Arc<EnvShared>,
    server: tokio::task::JoinHandle<()>,
    watcher: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Environment {
    fn is_dead(&self) -> bool {
        self.shared.lock().dead
    }
}

/// One hosted function and its environments.
pub(crate) struct Function {
    pub config: FunctionConfig,
    pub arn: String,
    region: String,
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Arc<Environment>>>,
    live: Mutex<HashMap<u64, Arc<Environment>>>,
    next_id: AtomicU64,
}

/// What an invocation of a hosted function returned.
pub(crate) struct HostedResult {
    pub reply: Reply,
    pub log: Arc<Mutex<Vec<u8>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A Lambda-shaped request id (a random UUID v4).
pub fn request_id() -> String {
    apigw_model::ids::uuid_v4(fastrand::u128(..))
}

fn trace_id() -> String {
    let secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!(
        "Root=1-{secs:08x}-{:024x};Parent={:016x};Sampled=0",
        fastrand::u128(..) & ((1u128 << 96) - 1),
        fastrand::u64(..)
    )
}

/// Writes one line to the gateway's log (stderr) and to the invocation's log buffer.
fn log_line(function: &str, request_id: Option<&str>, buf: Option<&Mutex<Vec<u8>>>, line: &str) {
    {
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "[{function} {}] {line}", request_id.unwrap_or("init"));
    }
    if let Some(buf) = buf {
        let mut b = lock(buf);
        b.extend_from_slice(line.as_bytes());
        b.push(b'\n');
        // Keep a bounded window; the tail is all anyone reads.
        if b.len() > 16 * LOG_TAIL_BYTES {
            let cut = b.len() - LOG_TAIL_BYTES;
            b.drain(..cut);
        }
    }
}

impl Function {
    pub fn new(config: FunctionConfig, region: &str, account: &str) -> Function {
        Function {
            arn: format!("arn:aws:lambda:{region}:{account}:function:{}", config.name),
            region: region.to_string(),
            permits: Arc::new(Semaphore::new(config.concurrency as usize)),
            idle: Mutex::new(Vec::new()),
            live: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            config,
        }
    }

    /// Runs one event to completion (result, function error or the function's own timeout).
    /// Not cancel-safe by design: callers spawn it so a caller that stops waiting does not
    /// cut the function short.
    pub async fn invoke(
        self: &Arc<Self>,
        request_id: String,
        payload: Bytes,
        client_context: Option<String>,
    ) -> Result<HostedResult, LambdaError> {
        let _permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| LambdaError::Service("the gateway is shutting down".into()))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (started_tx, started_rx) = oneshot::channel();
        let (reply_tx, mut reply_rx) = oneshot::channel();
        let mut dispatch = Some(Dispatch {
            request_id: request_id.clone(),
            payload,
            client_context,
            trace_id: trace_id(),
            log: log.clone(),
            started: started_tx,
            reply: reply_tx,
        });
        // An idle environment can die (crash, kill) between being picked and being handed
        // the event; the check and the hand-over happen under its lock.
        let env = loop {
            let env = self.take_environment().await?;
            let mut st = env.shared.lock();
            if st.dead {
                continue;
            }
            st.pending = dispatch.take();
            drop(st);
            break env;
        };
        env.shared.notify.notify_waiters();
        let name = &self.config.name;
        let begin = Instant::now();

        // Init (cold) or the runtime coming back to `next` (warm), then the function's own
        // timeout from the moment the runtime took the event.
        let picked = tokio::time::timeout(INIT_TIMEOUT, started_rx).await;
        let reply = match picked {
            Err(_) => {
                let failure = FunctionFailure::new(
                    "Runtime.InitError",
                    &format!(
                        "RequestId: {request_id} Error: the runtime did not ask for an event \
                         within {} seconds of starting",
                        INIT_TIMEOUT.as_secs()
                    ),
                );
                env.shared.kill(Some(failure.clone()));
                Err(failure)
            }
            Ok(_) => {
                log_line(
                    name,
                    Some(&request_id),
                    Some(&log),
                    &format!("START RequestId: {request_id} Version: $LATEST"),
                );
                match tokio::time::timeout(self.config.timeout, &mut reply_rx).await {
                    Ok(Ok(reply)) => reply,
                    Ok(Err(_)) => Err(FunctionFailure::new(
                        "Runtime.ExitError",
                        &format!("RequestId: {request_id} Error: Runtime exited"),
                    )),
                    Err(_) => {
                        let secs = self.config.timeout.as_secs_f64();
                        let failure = FunctionFailure::new(
                            "Sandbox.Timedout",
                            &format!(
                                "RequestId: {request_id} Error: Task timed out after {secs:.2} seconds"
                            ),
                        );
                        log_line(
                            name,
                            Some(&request_id),
                            Some(&log),
                            &format!(
                                "{} {request_id} Task timed out after {secs:.2} seconds",
                                crate::time::iso_millis(SystemTime::now())
                            ),
                        );
                        env.shared.kill(Some(failure.clone()));
                        Err(failure)
                    }
                }
            }
        };
        let ms = begin.elapsed().as_secs_f64() * 1000.0;
        log_line(
            name,
            Some(&request_id),
            Some(&log),
            &format!("END RequestId: {request_id}"),
        );
        log_line(
            name,
            Some(&request_id),
            Some(&log),
            &format!(
                "REPORT RequestId: {request_id}\tDuration: {ms:.2} ms\tBilled Duration: {} ms\tMemory Size: {} MB",
                ms.ceil() as u64,
                self.config.memory_mb
            ),
        );
        if !env.is_dead() {
            lock(&self.idle).push(env);
        }
        Ok(HostedResult { reply, log })
    }

    /// A warm environment, or a new one.
    async fn take_environment(self: &Arc<Self>) -> Result<Arc<Environment>, LambdaError> {
        loop {
            let env = lock(&self.idle).pop();
            match env {
                Some(env) if env.is_dead() => continue,
                Some(env) => return Ok(env),
                None => return self.start_environment().await,
            }
        }
    }

    async fn start_environment(self: &Arc<Self>) -> Result<Arc<Environment>, LambdaError> {
        let c = &self.config;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| LambdaError::Service(format!("cannot open a Runtime API port: {e}")))?;
        let addr: SocketAddr = listener
            .local_addr()
            .map_err(|e| LambdaError::Service(e.to_string()))?;
        let shared = Arc::new(EnvShared {
            function_name: c.name.clone(),
            function_arn: self.arn.clone(),
            timeout: c.timeout,
            state: Mutex::new(EnvState::default()),
            notify: Notify::new(),
            kill: Notify::new(),
        });
        let app = runtime_api::router(shared.clone());
        // Small request/response exchanges: no Nagle delay on either side of the loop.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });

        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let task_root = match &c.working_dir {
            Some(d) => d.clone(),
            None => std::env::current_dir().unwrap_or_else(|_| ".".into()),
        };
        let task_root = std::path::absolute(&task_root).unwrap_or(task_root);
        let date = crate::time::amz_date(SystemTime::now());
        let stream = format!(
            "{}/{}/{}/[$LATEST]{:016x}{:016x}",
            &date[0..4],
            &date[4..6],
            &date[6..8],
            fastrand::u64(..),
            fastrand::u64(..)
        );
        let mut cmd = tokio::process::Command::new("/bin/sh");
        cmd.arg("-c")
            .arg(format!("exec {}", c.command))
            .current_dir(&task_root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // The gateway's own environment stays (PATH, HOME, a virtualenv...), Lambda's
        // variables on top, the function's configured ones last.
        let region = self.region.as_str();
        for (k, v) in [
            ("AWS_LAMBDA_RUNTIME_API", addr.to_string().as_str()),
            ("AWS_LAMBDA_FUNCTION_NAME", c.name.as_str()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &c.memory_mb.to_string()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                &format!("/aws/lambda/{}", c.name),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", &stream),
            ("AWS_REGION", region),
            ("AWS_DEFAULT_REGION", region),
            ("_HANDLER", c.handler.as_str()),
            ("LAMBDA_TASK_ROOT", &task_root.to_string_lossy()),
            ("LAMBDA_RUNTIME_DIR", &task_root.to_string_lossy()),
            ("TZ", "UTC"),
            ("LANG", "en_US.UTF-8"),
            ("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR"),
            // Lambda hands the function its role's session credentials; these are fake ones
            // (any key works against this gateway). Override them in `environment`.
            ("AWS_ACCESS_KEY_ID", "ASIAAPIGWLOCALFUNCTION"),
            ("AWS_ACCESS_KEY", "ASIAAPIGWLOCALFUNCTION"),
            ("AWS_SECRET_ACCESS_KEY", "apigw-local-function-secret"),
            ("AWS_SESSION_TOKEN", "apigw-local-function-session"),
            // Output reaches the log line by line, not in 4 KB blocks.
            ("PYTHONUNBUFFERED", "1"),
        ] {
            cmd.env(k, v);
        }
        cmd.env_remove("AWS_PROFILE");
        for (k, v) in &c.environment {
            cmd.env(k, v);
        }
        let mut child = match cmd.spawn() {
            Ok(child) => child,
            Err(e) => {
                server.abort();
                return Err(LambdaError::Service(format!(
                    "cannot start function {}: {e}",
                    c.name
                )));
            }
        };
        let pid = child.id();
        tracing::info!(function = %c.name, pid, runtime_api = %addr, "execution environment started");

        if let Some(out) = child.stdout.take() {
            tokio::spawn(forward_output(out, shared.clone()));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(forward_output(err, shared.clone()));
        }
        let env = Arc::new(Environment {
            id,
            shared: shared.clone(),
            server,
            watcher: Mutex::new(None),
        });
        lock(&self.live).insert(id, env.clone());
        let function = self.clone();
        let watcher = tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => status.ok(),
                _ = shared.kill.notified() => {
                    let _ = child.start_kill();
                    kill_group(pid).await;
                    child.wait().await.ok()
                }
            };
            let exit = status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "unknown status".into());
            {
                let mut st = shared.lock();
                st.dead = true;
                let request = st
                    .in_flight
                    .as_ref()
                    .map(|f| f.request_id.clone())
                    .or_else(|| st.pending.as_ref().map(|d| d.request_id.clone()))
                    .unwrap_or_default();
                let failure = st.init_error.clone().unwrap_or_else(|| {
                    FunctionFailure::new(
                        "Runtime.ExitError",
                        &format!("RequestId: {request} Error: Runtime exited with error: {exit}"),
                    )
                });
                shared.fail_all(&mut st, &failure);
            }
            shared.notify.notify_waiters();
            // Grandchildren (a shell script's children) go with the process group.
            kill_group(pid).await;
            tracing::info!(function = %function.config.name, pid, %exit, "execution environment ended");
            function.forget(id);
        });
        *lock(&env.watcher) = Some(watcher);
        Ok(env)
    }

    fn forget(&self, id: u64) {
        if let Some(env) = lock(&self.live).remove(&id) {
            env.server.abort();
        }
        lock(&self.idle).retain(|e| e.id != id);
    }

    /// Kills every environment and waits until the processes are gone.
    pub async fn shutdown(&self) {
        self.permits.close();
        let envs: Vec<Arc<Environment>> = lock(&self.live).values().cloned().collect();
        for env in &envs {
            env.shared.kill(Some(FunctionFailure::new(
                "Runtime.ExitError",
                "the gateway is shutting down",
            )));
        }
        for env in envs {
            let watcher = lock(&env.watcher).take();
            if let Some(w) = watcher {
                let _ = w.await;
            }
        }
    }

    /// Process ids of the live environments (for tests and logs).
    pub fn environment_count(&self) -> usize {
        lock(&self.live).len()
    }
}

/// SIGKILL to the process group (`process_group(0)` made the child its leader).
async fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid else { return };
    // No `unsafe` (and so no libc::killpg) in this workspace: the shell's builtin kill does it.
    let _ = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(format!("kill -s KILL -- -{pid} 2>/dev/null"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
}

/// Forwards a process's output to the log, line by line, tagged with the current request.
async fn forward_output<R: AsyncRead + Unpin>(out: R, shared: Arc<EnvShared>) {
    let mut lines = BufReader::new(out).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let current = shared.lock().current.clone();
        match current {
            Some((id, buf)) => log_line(&shared.function_name, Some(&id), Some(&buf), &line),
            None => log_line(&shared.function_name, None, None, &line),
        }
    }
}
