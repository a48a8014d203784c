//! Long operations (receive, send, waiting for the society) run on their own thread as jobs;
//! the screen shows their progress bars, fed by Server-Sent Events, then their result.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use kx_client::{Phase, Progress};
use serde::Serialize;
use tokio::sync::watch;

use crate::words::Tr;

/// How far a job got: what the progress bars show.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct Bars {
    /// The bar that moves: `download`, `decryption`, `upload` or `waiting`.
    pub(crate) phase: &'static str,
    /// The file (or request) it is about.
    pub(crate) name: String,
    /// Units done.
    pub(crate) done: u64,
    /// Units in all, when known.
    pub(crate) total: Option<u64>,
    /// The job has ended: its result can be shown.
    pub(crate) finished: bool,
}

/// Which bars a job's screen shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// The manual's two bars of a receive: download, then decryption.
    Receive,
    /// One bar: sealing and uploading.
    Upload,
    /// No total: waiting for the society.
    Waiting,
}

/// A job: its title, its bars, and its result once it ends.
pub(crate) struct Job<R> {
    /// What it does.
    pub(crate) title: Tr,
    /// Its bars.
    pub(crate) layout: Layout,
    bars: watch::Sender<Bars>,
    result: Mutex<Option<R>>,
}

impl<R> Job<R> {
    /// The bars, from now on.
    pub(crate) fn watch(&self) -> watch::Receiver<Bars> {
        self.bars.subscribe()
    }

    /// The bars now.
    pub(crate) fn bars(&self) -> Bars {
        self.bars.borrow().clone()
    }

    /// Runs `f` with the result, once there is one.
    pub(crate) fn with_result<T>(&self, f: impl FnOnce(&R) -> T) -> Option<T> {
        lock(&self.result).as_ref().map(f)
    }
}

impl<R: Send> Progress for Job<R> {
    fn start(&self, phase: Phase, name: &str, total: Option<u64>) {
        let phase = match phase {
            Phase::Download => "download",
            Phase::Decryption => "decryption",
            Phase::Upload => "upload",
            _ => "waiting",
        };
        self.bars.send_modify(|bars| {
            *bars = Bars {
                phase,
                name: name.to_owned(),
                done: 0,
                total,
                finished: false,
            }
        });
    }

    fn advance(&self, amount: u64) {
        self.bars.send_modify(|bars| bars.done += amount);
    }

    fn finish(&self) {
        self.bars.send_modify(|bars| {
            if let Some(total) = bars.total {
                bars.done = total;
            }
        });
    }
}

/// The jobs of the app, by number.
pub(crate) struct Jobs<R> {
    next: AtomicU64,
    all: Mutex<HashMap<u64, Arc<Job<R>>>>,
}

impl<R> Default for Jobs<R> {
    fn default() -> Jobs<R> {
        Jobs {
            next: AtomicU64::new(1),
            all: Mutex::new(HashMap::new()),
        }
    }
}

impl<R: Send + Sync + 'static> Jobs<R> {
    /// Starts `work` on its own thread; its number names its screen.
    pub(crate) fn start(
        &self,
        title: Tr,
        layout: Layout,
        work: impl FnOnce(&Job<R>) -> R + Send + 'static,
    ) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let job = Arc::new(Job {
            title,
            layout,
            bars: watch::Sender::new(Bars::default()),
            result: Mutex::new(None),
        });
        lock(&self.all).insert(id, job.clone());
        std::thread::spawn(move || {
            let result = work(&job);
            *lock(&job.result) = Some(result);
            job.bars.send_modify(|bars| bars.finished = true);
        });
        id
    }

    /// The job numbered `id`.
    pub(crate) fn get(&self, id: u64) -> Option<Arc<Job<R>>> {
        lock(&self.all).get(&id).cloned()
    }

    /// Whether any job is still running (the app does not lock itself under one).
    pub(crate) fn busy(&self) -> bool {
        lock(&self.all)
            .values()
            .any(|job| !job.bars.borrow().finished)
    }
}

/// A mutex's guard, through a poisoning: a panicked job must not stop the screens.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_reports_its_bars_then_its_result() {
        let jobs: Jobs<u32> = Jobs::default();
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let id = jobs.start(crate::words::RECEIVE, Layout::Receive, move |job| {
            job.start(Phase::Download, "a.zip", Some(10));
            job.advance(4);
            wait.recv().ok();
            job.finish();
            7
        });
        let job = jobs.get(id).expect("job");
        let mut bars = job.watch();
        while job.bars().done < 4 {
            std::thread::yield_now();
        }
        assert_eq!(job.bars().phase, "download");
        assert!(jobs.busy());
        go.send(()).expect("go");
        while !bars.borrow_and_update().finished {
            std::thread::yield_now();
        }
        assert_eq!(job.bars().done, 10);
        assert_eq!(job.with_result(|r| *r), Some(7));
        assert!(!jobs.busy());
    }
}
