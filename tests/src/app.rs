//! The `switchboard` process: start on port 0, kill, restart on the same database.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long the server may take to print its `listening on` line.
const STARTUP: Duration = Duration::from_secs(30);

/// The `switchboard` binary under test: `$SWITCHBOARD_BIN`, or the one cargo built into
/// the same target directory as this test executable.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SWITCHBOARD_BIN") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "SWITCHBOARD_BIN={} is not a file",
            path.display()
        );
        return path;
    }
    let exe = std::env::current_exe().expect("the test executable has a path");
    // target/debug/deps/e2e-<hash> → target/debug/switchboard
    let dir = exe
        .parent()
        .map(|dir| match dir.file_name() {
            Some(name) if name == "deps" => dir.parent().unwrap_or(dir),
            _ => dir,
        })
        .unwrap_or_else(|| Path::new("."));
    let path = dir.join("switchboard");
    assert!(
        path.is_file(),
        "the switchboard binary is not at {}: run `cargo build -p switchboard` first \
         (scripts/test does), or point SWITCHBOARD_BIN at it",
        path.display()
    );
    path
}

/// One running `switchboard serve`, with its own temp directory and database.
///
/// The child is killed when the `App` is dropped.
pub struct App {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    child: Option<Child>,
    base: String,
    /// A client that never follows redirects and never uses a proxy.
    pub http: reqwest::Client,
    /// The Unix second the fake PBX counts its events back from: one clock for a whole
    /// test, so two events 15 s apart are 15 s apart however long the test takes.
    pub pbx_clock: i64,
}

impl App {
    /// Starts the server with the default configuration.
    pub async fn spawn() -> App {
        Self::spawn_with(&[]).await
    }

    /// Starts the server with extra environment variables (e.g. rate limits).
    pub async fn spawn_with(env: &[(&str, &str)]) -> App {
        let dir = tempfile::Builder::new()
            .prefix("switchboard-e2e-")
            .tempdir()
            .expect("a temp directory");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(60))
            // The server closes a connection idle for its header timeout (10 s): drop
            // pooled ones before that, so a test that pauses never sends on a closed one.
            .pool_idle_timeout(Duration::from_secs(5))
            .build()
            .expect("an HTTP client");
        let mut app = App {
            dir,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            child: None,
            base: String::new(),
            http,
            pbx_clock: crate::unix_now(),
        };
        app.start().await;
        app
    }

    /// `http://127.0.0.1:PORT` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The address the server listens on, for clients that speak TCP themselves.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base
            .trim_start_matches("http://")
            .parse()
            .expect("the server listens on IP:PORT")
    }

    /// The SQLite file the server (and the admin commands) use.
    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("switchboard.db")
    }

    /// The folder the server keeps attachments and raw emails in.
    pub fn blob_dir(&self) -> PathBuf {
        self.dir.path().join("blobs")
    }

    /// The server's process id (while it runs).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server is running").id()
    }

    /// Kills the server with SIGKILL (no chance to clean up) and reaps it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sets (or replaces) an environment variable for the next start.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), value.to_owned()));
    }

    /// Starts the server again on the same database, on a new port.
    /// A server still running is killed first.
    pub async fn restart(&mut self) {
        self.kill9();
        self.start().await;
    }

    /// Sends SIGTERM and waits (up to `limit`) for the server to exit.
    /// Panics if it does not exit in time.
    pub async fn terminate_within(&mut self, limit: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("the server is running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("`kill` runs");
        assert!(status.success(), "`kill -TERM` failed: {status}");
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("waiting for the server") {
                return status;
            }
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not exit within {limit:?} of SIGTERM");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Sends SIGTERM and waits for the server to exit (up to 30 s).
    pub async fn terminate(&mut self) -> ExitStatus {
        self.terminate_within(Duration::from_secs(30)).await
    }

    /// Runs `switchboard agent create` on this app's database and returns the API key
    /// (printed alone on the last line of stdout).
    pub fn create_agent(&self, name: &str, email: &str, role: &str) -> String {
        let db = self.db_path();
        let output = self
            .command()
            .args(["agent", "create", "--db"])
            .arg(&db)
            .args(["--name", name, "--email", email, "--role", role])
            .output()
            .expect("`switchboard agent create` runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "`switchboard agent create` failed with {}\nstdout:\n{stdout}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        let key = stdout.trim_end().lines().last().unwrap_or_default();
        assert!(
            !key.is_empty() && !key.contains(char::is_whitespace),
            "the last stdout line of `agent create` should be the API key alone, got {key:?}"
        );
        key.to_string()
    }

    /// Runs `switchboard agent set-password` on this app's database, the password on
    /// its standard input.
    pub fn set_password(&self, agent: &str, password: &str) {
        use std::io::Write;
        let mut child = self
            .command()
            .args(["agent", "set-password", "--db"])
            .arg(self.db_path())
            .arg(agent)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("`switchboard agent set-password` runs");
        child
            .stdin
            .take()
            .expect("a stdin")
            .write_all(format!("{password}\n").as_bytes())
            .expect("the password is written");
        let output = child.wait_with_output().expect("it ends");
        assert!(
            output.status.success(),
            "`switchboard agent set-password` failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A `switchboard` command with this app's environment (and no inherited
    /// `SWITCHBOARD_*` variables from the developer's shell).
    pub fn command(&self) -> Command {
        let mut command = Command::new(binary());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SWITCHBOARD_") {
                command.env_remove(key);
            }
        }
        let log = std::env::var("E2E_SWITCHBOARD_LOG").unwrap_or_else(|_| "warn".into());
        command
            .env("SWITCHBOARD_BLOB_DIR", self.blob_dir())
            .env("SWITCHBOARD_LOG", log)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        command
    }

    async fn start(&mut self) {
        let db = self.db_path();
        let mut child = self
            .command()
            .args(["serve", "--db"])
            .arg(&db)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the switchboard binary starts");
        let pid = child.id();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (first_line, listening) = tokio::sync::oneshot::channel();
        // Both pipes are drained for the life of the child so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = first_line.send(lines.next().and_then(Result::ok));
            for line in lines.map_while(Result::ok) {
                eprintln!("[switchboard {pid} stdout] {line}");
            }
        });
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[switchboard {pid}] {line}");
            }
        });
        let line = match tokio::time::timeout(STARTUP, listening).await {
            Ok(Ok(Some(line))) => line,
            Ok(_) => {
                let status = child.wait().expect("waiting for the server");
                panic!("switchboard serve exited ({status}) before printing `listening on`");
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("switchboard serve printed nothing on stdout within {STARTUP:?}");
            }
        };
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .filter(|url| url.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("the first stdout line should be `listening on http://127.0.0.1:PORT`, got {line:?}")
            });
        self.base = base.trim_end_matches('/').to_string();
        self.child = Some(child);
    }
}

/// What `switchboard serve` printed when it refused to start.
#[derive(Debug)]
pub struct Refusal {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `switchboard serve` on a fresh database with `env` (and none of the caller's
/// `SWITCHBOARD_*` variables), expecting it to refuse to start: panics if it is still
/// running after the start-up time.
pub async fn serve_refused(env: &[(&str, &str)]) -> Refusal {
    let dir = tempfile::Builder::new()
        .prefix("switchboard-e2e-")
        .tempdir()
        .expect("a temp directory");
    let mut command = Command::new(binary());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SWITCHBOARD_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("switchboard.db"))
        .env("SWITCHBOARD_BLOB_DIR", dir.path().join("blobs"))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the switchboard binary starts");
    let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for switchboard") {
            break status;
        }
        if started.elapsed() > STARTUP {
            let _ = child.kill();
            let _ = child.wait();
            panic!("switchboard serve was expected to refuse to start, and it ran");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    Refusal {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

impl Drop for App {
    fn drop(&mut self) {
        self.kill9();
    }
}
