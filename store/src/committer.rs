//! Group commit: a writer thread owns the store and commits, in one transaction and one fsync,
//! every batch that is waiting when it gets round to it. Each submitter gets its answer only
//! after the transaction holding its batch is durable, so acknowledgement never runs ahead of
//! the disk, while the fsyncs are shared.

use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use crate::{EventStore, StoreError};

type Reply = SyncSender<Result<u64, String>>;

/// Rows to append: (model version, event as stored).
pub type Rows = Vec<(i64, String)>;

enum Job {
    Append(Rows, Reply),
    Stop,
}

/// Waits for one submitted batch to be durable.
#[derive(Debug)]
pub struct Ticket(Receiver<Result<u64, String>>);

impl Ticket {
    /// Blocks until the batch is durable; returns the sequence number of its last record.
    pub fn wait(self) -> Result<u64, StoreError> {
        match self.0.recv() {
            Ok(Ok(seq)) => Ok(seq),
            Ok(Err(message)) => Err(StoreError::Other(message)),
            Err(_) => Err(StoreError::WriterGone),
        }
    }
}

/// The writer thread and the way to it.
#[derive(Debug)]
pub struct Committer {
    jobs: Sender<Job>,
    thread: Option<JoinHandle<Box<dyn EventStore>>>,
}

impl std::fmt::Debug for dyn EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventStore")
    }
}

impl Committer {
    /// Starts the writer; transactions hold at most `max_rows` records unless one batch is
    /// larger.
    /// `after` is the log's last sequence number as the caller knows it.
    pub fn start(mut store: Box<dyn EventStore>, after: u64, max_rows: usize) -> Committer {
        let (jobs, inbox) = channel::<Job>();
        let thread = std::thread::spawn(move || {
            let mut after = after;
            // After a failed commit nothing more is written: the log must stay a prefix of
            // what was submitted, without gaps.
            let mut broken: Option<String> = None;
            let mut stopping = false;
            while !stopping {
                let Ok(first) = inbox.recv() else { break };
                let mut group: Vec<(Rows, Reply)> = Vec::new();
                match first {
                    Job::Append(rows, reply) => group.push((rows, reply)),
                    Job::Stop => break,
                }
                let mut rows_in_group = group[0].0.len();
                while rows_in_group < max_rows {
                    match inbox.try_recv() {
                        Ok(Job::Append(rows, reply)) => {
                            rows_in_group += rows.len();
                            group.push((rows, reply));
                        }
                        Ok(Job::Stop) => {
                            stopping = true;
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let sizes: Vec<usize> = group.iter().map(|(rows, _)| rows.len()).collect();
                let mut all: Rows = Vec::with_capacity(rows_in_group);
                let mut replies = Vec::with_capacity(group.len());
                for (rows, reply) in group {
                    all.extend(rows);
                    replies.push(reply);
                }
                let result = match &broken {
                    Some(earlier) => {
                        Err(format!("not written after an earlier failure: {earlier}"))
                    }
                    None => store.append(after, &all).map_err(|e| e.to_string()),
                };
                if let Err(e) = &result {
                    broken.get_or_insert_with(|| e.clone());
                }
                match result {
                    Ok(last) => {
                        after = last;
                        // Each batch's own last sequence number.
                        let mut end = last - all.len() as u64;
                        for (reply, size) in replies.iter().zip(sizes) {
                            end += size as u64;
                            let _ = reply.send(Ok(end));
                        }
                    }
                    Err(e) => {
                        for reply in &replies {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                }
            }
            store
        });
        Committer { jobs, thread: Some(thread) }
    }

    /// Submits a batch; the ticket tells when it is durable.
    pub fn submit(&self, rows: Rows) -> Ticket {
        let (reply, answer) = sync_channel(1);
        // When the writer has stopped, the reply sender is dropped with the job and the
        // ticket reports it.
        let _ = self.jobs.send(Job::Append(rows, reply));
        Ticket(answer)
    }

    /// Stops the writer after the batches already submitted and gives the store back.
    pub fn stop(mut self) -> Result<Box<dyn EventStore>, StoreError> {
        let _ = self.jobs.send(Job::Stop);
        self.thread.take().ok_or(StoreError::WriterGone)?.join().map_err(|_| StoreError::WriterGone)
    }
}
