//! One Lambda function's real binary, run as Lambda runs it: a process with the
//! `AWS_LAMBDA_*` environment, its Runtime API at `AWS_LAMBDA_RUNTIME_API` (our own,
//! [`RuntimeApi`]), and its AWS endpoint pointed at the emulator.

use crate::runtime::{Outcome, RuntimeApi};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one invocation may take before the test fails: the template's longest
/// function timeout (the sweeper's), counted as Lambda counts it, from the moment the
/// function takes the event. On the emulator a batch of messages takes well under a
/// second; a sweep that follows a backlog of the log takes its whole time budget.
pub const INVOCATION_LIMIT: Duration = Duration::from_secs(50);

/// How long a fresh process may take to reach its first event (its init: settings and
/// secrets read from the emulator, which is slow on a loaded machine). Lambda gives init
/// 10 s of its own, outside the invocation's timeout; the emulator is slower than AWS.
pub const INIT_LIMIT: Duration = Duration::from_secs(30);

/// The function binaries: `$E2E_FUNCTIONS_DIR`, or the target directory this test
/// executable was built into (`cargo build --workspace --bins` puts them there).
pub fn binary(name: &str) -> PathBuf {
    let dir = match std::env::var_os("E2E_FUNCTIONS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => {
            let exe = std::env::current_exe().expect("the test executable has a path");
            exe.parent()
                .map(|dir| match dir.file_name() {
                    Some(n) if n == "deps" => dir.parent().unwrap_or(dir).to_path_buf(),
                    _ => dir.to_path_buf(),
                })
                .unwrap_or_else(|| Path::new(".").to_path_buf())
        }
    };
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "the {name} function is not at {}: run `cargo build --workspace --bins` first \
         (scripts/test does), or point E2E_FUNCTIONS_DIR at the binaries",
        path.display()
    );
    path
}

/// Times of one process's start, for the cold-start figures.
#[derive(Clone, Copy, Debug)]
pub struct ColdStart {
    /// Process start → its first `GET next` (init done).
    pub init: Duration,
    /// The CPU time the process used for its init.
    pub init_cpu: Duration,
    /// Process start → its answer to the first event.
    pub to_first_answer: Duration,
    /// The CPU time the process used to its first answer.
    pub first_answer_cpu: Duration,
}

/// A running function. The process is killed when this is dropped.
pub struct Function {
    pub name: String,
    runtime: RuntimeApi,
    child: Child,
    spawned_at: Instant,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Function {
    /// Starts the `name` binary with the template's variables `env`.
    pub async fn start(name: &str, env: &[(String, String)]) -> Function {
        let runtime = RuntimeApi::start().await;
        let mut command = Command::new(binary(name));
        // Nothing of this machine's environment (SSL_CERT_FILE, AWS profiles, a
        // SWITCHBOARD_ variable) reaches the function: only what Lambda sets.
        command.env_clear();
        let nowhere = std::env::temp_dir().join("switchboard-e2e-no-such-file");
        let log = std::env::var("E2E_SWITCHBOARD_LOG").unwrap_or_else(|_| "info".into());
        command
            // What Lambda sets for a provided.al2023 function of 128 MB.
            .env("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin")
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env("LAMBDA_TASK_ROOT", "/var/task")
            .env("LAMBDA_RUNTIME_DIR", "/var/runtime")
            .env("AWS_LAMBDA_RUNTIME_API", runtime.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", format!("switchboard-{name}"))
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env(
                "AWS_LAMBDA_LOG_GROUP_NAME",
                format!("/aws/lambda/switchboard-{name}"),
            )
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "2025/03/10/[$LATEST]e2e")
            .env("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand")
            .env("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023")
            .env("_HANDLER", "bootstrap")
            .env("AWS_REGION", crate::cloud::REGION)
            .env("AWS_DEFAULT_REGION", crate::cloud::REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_SESSION_TOKEN", "testing")
            // No profile files and no instance metadata, as on Lambda.
            .env("AWS_CONFIG_FILE", &nowhere)
            .env("AWS_SHARED_CREDENTIALS_FILE", &nowhere)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL", crate::cloud::endpoint())
            .env("SWITCHBOARD_LOG", log)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let spawned_at = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("the {name} function does not start: {e}"));
        let logs = Arc::new(Mutex::new(Vec::new()));
        let pid = child.id();
        runtime.watch_cpu(pid);
        for pipe in [
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let (logs, label) = (logs.clone(), format!("{name} {pid}"));
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    eprintln!("[{label}] {line}");
                    crate::lock(&logs).push(line);
                }
            });
        }
        Function {
            name: name.to_owned(),
            runtime,
            child,
            spawned_at,
            logs,
        }
    }

    /// Sends one event and waits for the answer: `Ok(response)`, or `Err((error type,
    /// error body))` when the function reported an error. Panics if the process exits or
    /// does not answer in time.
    pub async fn invoke(&mut self, payload: Value) -> Result<Value, (String, Value)> {
        let (request_id, answer) = self.runtime.invoke(payload, INVOCATION_LIMIT);
        let queued = Instant::now();
        let mut taken = None;
        tokio::pin!(answer);
        loop {
            tokio::select! {
                outcome = &mut answer => {
                    return match outcome {
                        Ok(Outcome::Response(body)) => Ok(serde_json::from_slice(&body)
                            .unwrap_or_else(|e| panic!("{} answered with non-JSON ({e})", self.name))),
                        Ok(Outcome::Error { error_type, body }) => Err((error_type, body)),
                        Err(_) => panic!("the Runtime API of {} dropped the event", self.name),
                    };
                }
                _ = tokio::time::sleep(Duration::from_millis(50)) => {
                    if let Ok(Some(status)) = self.child.try_wait() {
                        panic!(
                            "the {} function exited ({status}) instead of answering; init error: {:?}",
                            self.name,
                            self.runtime.init_error()
                        );
                    }
                    taken = taken.or_else(|| self.runtime.handed_out_at(&request_id));
                    match taken {
                        Some(taken) => assert!(
                            taken.elapsed() < INVOCATION_LIMIT,
                            "the {} function did not answer within {INVOCATION_LIMIT:?}",
                            self.name
                        ),
                        None => assert!(
                            queued.elapsed() < INIT_LIMIT,
                            "the {} function did not take its event within {INIT_LIMIT:?}",
                            self.name
                        ),
                    }
                }
            }
        }
    }

    /// Like [`Function::invoke`], for events that must succeed.
    pub async fn invoke_ok(&mut self, payload: Value) -> Value {
        match self.invoke(payload).await {
            Ok(answer) => answer,
            Err((kind, body)) => panic!("the {} function failed: {kind}: {body}", self.name),
        }
    }

    /// Waits (up to 30 s) for the process to exit without being sent an event, as a
    /// function that cannot start does; returns what it reported to `init/error`.
    pub async fn init_failure(&mut self) -> Option<(String, Value)> {
        let started = Instant::now();
        while self.child.try_wait().ok().flatten().is_none() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the {} function kept running",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.runtime.init_error()
    }

    /// Waits (up to 30 s) for the process to finish init (its first `GET next`);
    /// returns how long init took.
    pub async fn ready(&mut self) -> Duration {
        let started = Instant::now();
        loop {
            if let Some(at) = self.runtime.milestones().first_next {
                return at.duration_since(self.spawned_at);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the {} function exited ({status}) during init", self.name);
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the {} function did not finish init within 30 s",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// When the process was started.
    pub fn started_at(&self) -> Instant {
        self.spawned_at
    }

    /// When this process finished init and answered its first event.
    pub fn cold_start(&self) -> Option<ColdStart> {
        let milestones = self.runtime.milestones();
        Some(ColdStart {
            init: milestones.first_next?.duration_since(self.spawned_at),
            init_cpu: milestones.init_cpu?,
            to_first_answer: milestones.first_answer?.duration_since(self.spawned_at),
            first_answer_cpu: milestones.first_answer_cpu?,
        })
    }

    /// How long each invocation took inside the function (see [`RuntimeApi::durations`]).
    pub fn durations(&self) -> Vec<Duration> {
        self.runtime.durations()
    }

    /// The process's CPU time in each invocation (see [`RuntimeApi::cpu_durations`]).
    pub fn cpu_durations(&self) -> Vec<Duration> {
        self.runtime.cpu_durations()
    }

    /// The process's peak resident memory (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_else(|e| panic!("/proc status of {}: {e}", self.name));
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no VmHWM in the status of {}", self.name))
    }

    /// Every line the process wrote so far (stdout and stderr).
    pub fn logs(&self) -> Vec<String> {
        crate::lock(&self.logs).clone()
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
