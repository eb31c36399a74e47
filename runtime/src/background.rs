//! Background CPU work (rendering the ticket PDFs that confirmation emails carry) on a few threads
//! of its own that run at a lower scheduling priority than the rest of the process. During a
//! flash sale the booking path (HTTP, publishing, deciding) keeps the CPU and the mail is prepared
//! with what is left; the async workers never block on a render.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, mpsc};

use anyhow::anyhow;

type Job = Box<dyn FnOnce() + Send>;

/// How much nicer than the process the background threads are (Linux `nice`, 0..19).
pub const NICENESS: i32 = 10;

/// A pool of low-priority threads; they stop when the pool is dropped.
pub struct Background {
    jobs: mpsc::Sender<Job>,
}

impl Background {
    /// `threads` threads (at least one) named `<name>-<n>`.
    pub fn new(name: &str, threads: usize) -> anyhow::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || {
                    // On Linux this lowers only the calling thread's priority.
                    if let Err(e) = rustix::process::setpriority_process(None, NICENESS) {
                        tracing::debug!(error = %e, "could not lower a background thread's priority");
                    }
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A panicking job loses its answer (the caller sees an error), not the thread.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| anyhow!("starting a background thread: {e}"))?;
        }
        Ok(Self { jobs })
    }

    /// A pool with one thread per core.
    pub fn per_core(name: &str) -> anyhow::Result<Self> {
        Self::new(
            name,
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        )
    }

    /// Runs `work` on a background thread and waits for its result.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> anyhow::Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(work());
            }))
            .map_err(|_| anyhow!("the background threads have stopped"))?;
        rx.await
            .map_err(|_| anyhow!("a background job failed without an answer"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_a_nicer_thread_and_a_panic_loses_only_its_answer() {
        let pool = Background::new("test-bg", 1).expect("pool");
        let (name, nice) = pool
            .run(|| {
                (
                    std::thread::current().name().map(str::to_owned),
                    rustix::process::getpriority_process(None).ok(),
                )
            })
            .await
            .expect("answer");
        assert_eq!(name.as_deref(), Some("test-bg-0"));
        let own = rustix::process::getpriority_process(None).expect("own priority");
        assert!(
            nice.is_some_and(|n| n > own || n == 19),
            "{nice:?} vs {own}"
        );
        assert!(pool.run(|| panic!("boom")).await.is_err());
        assert_eq!(pool.run(|| 2 + 2).await.expect("the thread lives on"), 4);
    }
}
