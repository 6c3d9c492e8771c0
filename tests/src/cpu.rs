//! A process's CPU time, read from `/proc`: what a function costs on a Lambda of 128 MB,
//! where a process gets a small share of one vCPU and so its CPU time, not the machine's
//! clock, sets how long its work takes.

use std::time::Duration;

/// The CPU time process `pid` has used so far, its threads together: the first field of
/// each `/proc/<pid>/task/<tid>/schedstat`, in nanoseconds. A thread that has already
/// exited is not counted (the functions' runtime runs on one). `None` once the process is
/// gone.
pub fn process_cpu_time(pid: u32) -> Option<Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let nanos = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Some(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::process::{Child, Command};
    use std::time::Instant;

    struct Killed(Child);

    impl Drop for Killed {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn a_process_that_waits_uses_next_to_nothing() {
        let sleeper = Killed(Command::new("sleep").arg("5").spawn().expect("sleep runs"));
        std::thread::sleep(Duration::from_millis(200));
        let used = process_cpu_time(sleeper.0.id()).expect("it is still sleeping");
        assert!(used < Duration::from_millis(50), "{used:?}");
    }

    #[test]
    fn a_process_that_works_uses_more_and_more() {
        let spinner = Killed(
            Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .expect("sh runs"),
        );
        let pid = spinner.0.id();
        let first = process_cpu_time(pid).expect("it is running");
        let give_up = Instant::now() + Duration::from_secs(20);
        loop {
            let now = process_cpu_time(pid).expect("it is still running");
            if now >= first + Duration::from_millis(30) {
                break;
            }
            assert!(Instant::now() < give_up, "no CPU time counted: {now:?}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_process_that_is_gone_has_none() {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("true runs");
        let pid = child.id();
        child.wait().expect("true exits");
        assert_eq!(process_cpu_time(pid), None);
    }
}
