//! A real SMTP server for replies by email: `scripts/smtp-sink.py` (aiosmtpd, from the
//! project's .venv) on a free loopback port, keeping each message it receives as a file.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct SmtpSink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

/// The repository this crate sits in (the project's .venv and scripts are there).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

impl SmtpSink {
    /// Starts the sink; it refuses (550 5.1.1) mail to the `refuse` addresses.
    pub fn start(refuse: &[&str]) -> SmtpSink {
        let root = repo_root();
        let python = std::env::var("E2E_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root.join(".venv/bin/python"));
        let dir = tempfile::Builder::new()
            .prefix("switchboard-smtp-")
            .tempdir()
            .expect("a temp directory");
        let mut command = Command::new(&python);
        command
            .arg(root.join("scripts/smtp-sink.py"))
            .arg(dir.path());
        for address in refuse {
            command.args(["--refuse", address]);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "the SMTP sink starts with {} (run scripts/install-tools): {e}",
                    python.display()
                )
            });
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the sink prints its port");
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the sink's first line is its port, got {line:?}"));
        SmtpSink { child, dir, port }
    }

    /// The relay URL for `SWITCHBOARD_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, oldest first, as sent.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names.iter().filter_map(|p| std::fs::read(p).ok()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of header `name` in a raw message (unfolded), if present.
pub fn header(raw: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}
