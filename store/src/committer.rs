//! Group commit: a writer thread owns the store and commits, in one transaction and one fsync,
//! every batch that is waiting when it gets round to it. Each submitter gets its answer only
//! after the transaction holding its batch is durable, so acknowledgement never runs ahead of
//! the disk, while the fsyncs are shared. The store's upkeep ([`EventStore::tidy`]) is done a
//! short step at a time after a group's answers and while nothing waits, never before an
//! answer.

use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::chain::Break;
use crate::{Access, EventStore, StoreError, WriteFailed};

/// Told of each break in a hash chain that the writer met at a log's end while writing
/// ([`EventStore::take_chain_breaks`]): the rows were written all the same. It names the log,
/// the row and what is wrong there, never a row's content.
pub type ChainWarning = Arc<dyn Fn(&Break) + Send + Sync>;

/// Breaks most kept for a warning not yet given.
const BREAKS_KEPT: usize = 100;

/// Where the writer's breaks go: to the warning once there is one, kept until then.
#[derive(Default)]
struct Warnings {
    to: Option<ChainWarning>,
    waiting: Vec<Break>,
}

impl std::fmt::Debug for Warnings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Warnings").field("waiting", &self.waiting).finish_non_exhaustive()
    }
}

/// Hands the breaks the store met to the warning, outside the lock.
fn tell(warnings: &Mutex<Warnings>, store: &mut dyn EventStore) {
    let breaks = store.take_chain_breaks();
    if breaks.is_empty() {
        return;
    }
    let to = {
        let mut w = warnings.lock().unwrap_or_else(|e| e.into_inner());
        match &w.to {
            Some(to) => to.clone(),
            None => {
                let room = BREAKS_KEPT.saturating_sub(w.waiting.len());
                w.waiting.extend(breaks.into_iter().take(room));
                return;
            }
        }
    };
    for broken in &breaks {
        to(broken);
    }
}

/// Why a batch was not written. A batch refused because the log moved (another process
/// appended), or queued behind one that was, was certainly not written: it may be tried again
/// on the state brought up to date.
#[derive(Debug, Clone)]
enum Failure {
    Conflict { expected: u64, found: u64 },
    Other(String),
}

impl Failure {
    fn error(self) -> StoreError {
        match self {
            Failure::Conflict { expected, found } => StoreError::Conflict { expected, found },
            Failure::Other(message) => StoreError::Other(message),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Conflict { expected, found } => {
                StoreError::Conflict { expected: *expected, found: *found }.fmt(f)
            }
            Failure::Other(message) => f.write_str(message),
        }
    }
}

type Reply = Responder<Result<u64, Failure>>;

/// What another process appended: the records after the writer's last, in order.
type FollowReply = Responder<Result<Vec<crate::Record>, WriteFailed>>;

/// Rows to append: (model version, event as stored).
pub type Rows = Vec<crate::NewRecord>;

/// Work for the store other than appending events (the access log, snapshots, reading the
/// store's own facts), run on the writer thread in its turn.
type Task = Box<dyn FnOnce(&mut dyn EventStore) + Send>;

type AccessReply = Responder<Result<(), WriteFailed>>;

/// What the answer to an access-log row means: durable, not written and why, or the writer
/// stopped first.
pub fn access_result(answer: Option<Result<(), WriteFailed>>) -> Result<(), StoreError> {
    match answer {
        Some(Ok(())) => Ok(()),
        Some(Err(WriteFailed(message))) => Err(StoreError::Other(message)),
        None => Err(StoreError::WriterGone),
    }
}

/// Where a job's answer goes: to a thread that waits for it ([`Answer::wait`]) or to a task
/// that awaits it ([`Answer`] is a future), so that a request served on an async runtime holds
/// no thread while the disk works. Dropped unanswered (the writer stopped), it tells the waiter
/// so.
pub struct Responder<T>(Arc<Slot<T>>);

/// The answer to one job, from its [`Responder`]: `None` when the writer stopped without one.
pub struct Answer<T>(Arc<Slot<T>>);

struct Slot<T> {
    state: Mutex<SlotState<T>>,
    ready: std::sync::Condvar,
}

struct SlotState<T> {
    value: Option<T>,
    done: bool,
    waker: Option<std::task::Waker>,
}

impl<T> std::fmt::Debug for Responder<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder")
    }
}

impl<T> std::fmt::Debug for Answer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Answer")
    }
}

/// A responder and the answer it gives.
fn answer<T>() -> (Responder<T>, Answer<T>) {
    let slot = Arc::new(Slot {
        state: Mutex::new(SlotState { value: None, done: false, waker: None }),
        ready: std::sync::Condvar::new(),
    });
    (Responder(slot.clone()), Answer(slot))
}

impl<T> Slot<T> {
    fn finish(&self, value: Option<T>) {
        let waker = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if state.done {
                return;
            }
            state.value = value;
            state.done = true;
            state.waker.take()
        };
        self.ready.notify_all();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Responder<T> {
    /// Answers; only the first answer counts.
    pub fn send(&self, value: T) {
        self.0.finish(Some(value));
    }
}

impl<T> Drop for Responder<T> {
    fn drop(&mut self) {
        self.0.finish(None);
    }
}

impl<T> Answer<T> {
    /// Blocks until the answer comes.
    pub fn wait(self) -> Option<T> {
        let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        while !state.done {
            state = self.0.ready.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.value.take()
    }
}

impl<T> std::future::Future for Answer<T> {
    type Output = Option<T>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<T>> {
        let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.done {
            return std::task::Poll::Ready(state.value.take());
        }
        match &state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => state.waker = Some(cx.waker().clone()),
        }
        std::task::Poll::Pending
    }
}

/// The answers to the batches and access rows of one append, given once it is durable and the
/// breaks in a chain that it met have been told (a command ends once it has its answer).
#[derive(Default)]
struct Waiting {
    /// Each batch's reply and its last sequence number.
    appends: Vec<(Reply, u64)>,
    accesses: Vec<AccessReply>,
    /// The breaks are told.
    warned: bool,
    /// Durable (or why not known), told before the breaks were.
    durable: Option<Result<(), WriteFailed>>,
}

impl Waiting {
    /// Answers everyone once both are known; the first `Err` is kept in `not_durable`, and
    /// after it nothing is answered durable (the writer writes nothing more either).
    fn answer(&mut self, not_durable: &Mutex<Option<String>>) {
        if !self.warned {
            return;
        }
        let Some(result) = self.durable.take() else { return };
        let result = {
            let mut earlier = not_durable.lock().unwrap_or_else(|e| e.into_inner());
            match (&result, earlier.as_ref()) {
                (Err(why), _) => {
                    earlier.get_or_insert_with(|| why.0.clone());
                    result
                }
                (Ok(()), Some(why)) => {
                    Err(WriteFailed(format!("not written after an earlier failure: {why}")))
                }
                (Ok(()), None) => result,
            }
        };
        for (reply, end) in self.appends.drain(..) {
            reply
                .send(result.clone().map(|()| end).map_err(|WriteFailed(why)| Failure::Other(why)));
        }
        for reply in self.accesses.drain(..) {
            reply.send(result.clone());
        }
    }
}

enum Job {
    /// Rows to append, with the access-log row that records the append, written in the same
    /// transaction (so that it costs no commit of its own) or not at all.
    Append(Rows, Option<Access>, Reply),
    /// One access-log row; access rows waiting together share a commit.
    Access(Access, AccessReply),
    Run(Task),
    /// Work that writes what the state holds (a snapshot): run only while every append
    /// before it was written, since the state holds their events; dropped unrun otherwise.
    RunIfWritten(Task),
    /// Reads the records other processes appended after the writer's last, and takes the
    /// last of them as its own (see [`Committer::follow`]).
    Follow(FollowReply),
    Stop,
}

/// Waits for one submitted batch to be durable.
#[derive(Debug)]
pub struct Ticket(Answer<Result<u64, Failure>>);

impl Ticket {
    /// Blocks until the batch is durable; returns the sequence number of its last record.
    pub fn wait(self) -> Result<u64, StoreError> {
        match self.0.wait() {
            Some(Ok(seq)) => Ok(seq),
            Some(Err(failure)) => Err(failure.error()),
            None => Err(StoreError::WriterGone),
        }
    }
}

/// The writer thread and the way to it. It lives as long as the tracker: every request's
/// batches meet in its queue, so group commit spans requests. The handle can be shared.
#[derive(Debug)]
pub struct Committer {
    jobs: Mutex<Sender<Job>>,
    thread: Mutex<Option<JoinHandle<Box<dyn EventStore>>>>,
    warnings: Arc<Mutex<Warnings>>,
}

impl std::fmt::Debug for dyn EventStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EventStore")
    }
}

impl Committer {
    /// Starts the writer; transactions hold at most `max_rows` records unless one batch is
    /// larger.
    /// `after` is the log's last sequence number as the caller knows it, and `epoch` the
    /// log's epoch it was read in ([`EventStore::log_epoch`], read before the log): an append,
    /// a follow or a snapshot after another process's compaction, or after the database
    /// restarted, then fails, even where the log has grown back past `after`. `None` does not
    /// look.
    pub fn start(
        mut store: Box<dyn EventStore>,
        after: u64,
        epoch: Option<crate::LogEpoch>,
        max_rows: usize,
    ) -> Committer {
        store.expect_epoch(epoch);
        Committer::spawn(store, after, epoch, max_rows, None)
    }

    /// A writer that holds the store and writes nothing to its event log: every append and
    /// follow fails with `why`, until it is stopped and the store taken back. It keeps a store
    /// whose owner could not read its state (the database went away for a moment) for the
    /// next try.
    pub fn holding(store: Box<dyn EventStore>, why: String) -> Committer {
        Committer::spawn(store, 0, None, 1, Some(Failure::Other(why)))
    }

    fn spawn(
        mut store: Box<dyn EventStore>,
        after: u64,
        epoch: Option<crate::LogEpoch>,
        max_rows: usize,
        broken: Option<Failure>,
    ) -> Committer {
        let (jobs, inbox) = channel::<Job>();
        let warnings = Arc::new(Mutex::new(Warnings::default()));
        let told = warnings.clone();
        let thread = std::thread::spawn(move || {
            let mut after = after;
            // After a failed commit nothing more is written: the log must stay a prefix of
            // what was submitted, without gaps.
            let mut broken = broken;
            // Why an append written earlier is not known to be durable, told later (see
            // `EventStore::append_deferred`): nothing more is written after it either.
            let not_durable: Arc<Mutex<Option<String>>> = Arc::default();
            let mut stopping = false;
            // The store has upkeep left ([`EventStore::tidy`]): done while nothing waits.
            let mut untidy = false;
            while !stopping {
                let first = if untidy && broken.is_none() {
                    match inbox.try_recv() {
                        Ok(job) => job,
                        Err(std::sync::mpsc::TryRecvError::Empty) => {
                            untidy = store.tidy().unwrap_or(false);
                            continue;
                        }
                        Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
                    }
                } else {
                    let Ok(job) = inbox.recv() else { break };
                    job
                };
                if broken.is_none() {
                    if let Some(why) = not_durable.lock().unwrap_or_else(|e| e.into_inner()).clone()
                    {
                        broken = Some(Failure::Other(why));
                    }
                }
                // Everything waiting is taken together: the appends share one transaction, the
                // access-log rows another, and other work runs after them, so that it sees the
                // store as the group leaves it.
                let mut group: Vec<(Rows, Reply)> = Vec::new();
                let mut accesses: Vec<(Access, AccessReply)> = Vec::new();
                // Each with whether it runs only while no append before it failed.
                let mut tasks: Vec<(Task, bool)> = Vec::new();
                let mut follows: Vec<FollowReply> = Vec::new();
                let mut rows_in_group = 0;
                let mut logged: Vec<Access> = Vec::new();
                let mut next = Some(first);
                while let Some(job) = next.take() {
                    match job {
                        Job::Append(rows, access, reply) => {
                            rows_in_group += rows.len();
                            group.push((rows, reply));
                            logged.extend(access);
                        }
                        Job::Access(access, reply) => accesses.push((access, reply)),
                        Job::Run(task) => tasks.push((task, false)),
                        Job::RunIfWritten(task) => tasks.push((task, true)),
                        Job::Follow(reply) => follows.push(reply),
                        Job::Stop => {
                            stopping = true;
                            break;
                        }
                    }
                    if rows_in_group < max_rows {
                        next = inbox.try_recv().ok();
                    }
                }
                // Access rows go into the appends' transaction when there is one: one commit.
                let (mut access_rows, mut access_replies): (Vec<Access>, Vec<AccessReply>) =
                    accesses.into_iter().unzip();
                let mut accesses_written = false;
                if !group.is_empty() {
                    let mut all: Rows = Vec::with_capacity(rows_in_group);
                    let mut appends = Vec::with_capacity(group.len());
                    // Each batch's own last sequence number.
                    let mut end = after;
                    for (rows, reply) in group {
                        end += rows.len() as u64;
                        all.extend(rows);
                        appends.push((reply, end));
                    }
                    // The batches' own rows follow the reads' rows; cut off again should
                    // the reads' rows have to be written on their own.
                    let reads = access_rows.len();
                    let mut with_appends = std::mem::take(&mut access_rows);
                    with_appends.extend(logged);
                    let waiting = Arc::new(Mutex::new(Waiting {
                        appends,
                        accesses: std::mem::take(&mut access_replies),
                        ..Waiting::default()
                    }));
                    let result = match &broken {
                        // Behind a batch the log moved under, this one was validated against
                        // the same stale state: it too may be tried again.
                        Some(Failure::Conflict { expected, found }) => {
                            Err(Failure::Conflict { expected: *expected, found: *found })
                        }
                        Some(earlier) => Err(Failure::Other(format!(
                            "not written after an earlier failure: {earlier}"
                        ))),
                        None => {
                            // Answered once the append is durable; the writer goes on with
                            // the next group meanwhile.
                            let (answers, not_durable) = (waiting.clone(), not_durable.clone());
                            let durable: crate::Durable = Box::new(move |result| {
                                let mut waiting = answers.lock().unwrap_or_else(|e| e.into_inner());
                                waiting.durable = Some(result);
                                waiting.answer(&not_durable);
                            });
                            store.append_deferred(after, &all, &with_appends, durable).map_err(
                                |e| match e {
                                    StoreError::Conflict { expected, found } => {
                                        Failure::Conflict { expected, found }
                                    }
                                    other => Failure::Other(other.to_string()),
                                },
                            )
                        }
                    };
                    // Warned before anyone is answered: a command ends once it has its answer.
                    tell(&told, store.as_mut());
                    let mut waiting = waiting.lock().unwrap_or_else(|e| e.into_inner());
                    waiting.warned = true;
                    match result {
                        Ok(last) => {
                            after = last;
                            accesses_written = true;
                            waiting.answer(&not_durable);
                        }
                        Err(e) => {
                            broken.get_or_insert_with(|| e.clone());
                            // Not written, so never told durable: answered here.
                            for (reply, _) in waiting.appends.drain(..) {
                                reply.send(Err(e.clone()));
                            }
                            access_replies = std::mem::take(&mut waiting.accesses);
                            with_appends.truncate(reads);
                            access_rows = with_appends;
                        }
                    }
                }
                if !accesses_written && !access_rows.is_empty() {
                    // Not written with the appends (none, or they failed): on their own.
                    let result =
                        store.log_accesses(&access_rows).map_err(|e| WriteFailed(e.to_string()));
                    tell(&told, store.as_mut());
                    for reply in &access_replies {
                        reply.send(result.clone());
                    }
                }
                for (task, if_written) in tasks {
                    if if_written && broken.is_some() {
                        // Dropped: its answer tells the waiter it did not run.
                        continue;
                    }
                    task(store.as_mut());
                }
                for reply in follows {
                    let mut records = Vec::new();
                    let result = match &broken {
                        Some(earlier) => Err(format!("the writer stopped: {earlier}")),
                        None => store
                            .scan(after, &mut |record| {
                                records.push(record);
                                Ok(())
                            })
                            .map_err(|e| e.to_string())
                            // Read after the rows: a compaction or a restart of the database
                            // before or while they were read shows here, and the rows are then
                            // others than they seem.
                            .and_then(|()| match (epoch, store.log_epoch()) {
                                (_, Err(e)) => Err(e.to_string()),
                                (Some(expected), Ok(found)) if found != expected => Err(
                                    "the event log was rewritten (a compaction by another process, or a restart of the database): the state is rebuilt"
                                        .to_owned(),
                                ),
                                _ => Ok(()),
                            })
                            .and_then(|()| match records.last() {
                                Some(last) => {
                                    after = last.seq;
                                    Ok(records)
                                }
                                // A log shorter than this writer's last was rewritten (client
                                // data removed by another server): the state must be rebuilt.
                                None => match store.last_seq() {
                                    Ok(last) if last < after => Err(format!(
                                        "the event log was rewritten (now {last} events, was {after}): the state is rebuilt"
                                    )),
                                    Ok(_) => Ok(records),
                                    Err(e) => Err(e.to_string()),
                                },
                            }),
                    };
                    reply.send(result.map_err(WriteFailed));
                }
                tell(&told, store.as_mut());
                // After the answers: one step of upkeep, which no answer waited for.
                if broken.is_none() && !stopping {
                    untidy = store.tidy().unwrap_or(false);
                }
            }
            store
        });
        Committer { jobs: Mutex::new(jobs), thread: Mutex::new(Some(thread)), warnings }
    }

    /// Gives every break in a hash chain that the writer meets at a log's end to `warn`, from
    /// now on and any met before (see [`ChainWarning`]).
    pub fn on_chain_break(&self, warn: ChainWarning) {
        let waiting = {
            let mut w = self.warnings.lock().unwrap_or_else(|e| e.into_inner());
            w.to = Some(warn.clone());
            std::mem::take(&mut w.waiting)
        };
        for broken in &waiting {
            warn(broken);
        }
    }

    /// The warning given to [`Committer::on_chain_break`], if any.
    pub fn chain_warning(&self) -> Option<ChainWarning> {
        self.warnings.lock().unwrap_or_else(|e| e.into_inner()).to.clone()
    }

    fn send(&self, job: Job) {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        // When the writer has stopped, the job is dropped and its reply reports it.
        let _ = jobs.send(job);
    }

    /// Writes one access-log row and waits until it is durable. Rows of concurrent requests
    /// share a commit.
    pub fn log_access(&self, access: Access) -> Result<(), StoreError> {
        access_result(self.log_access_later(access).wait())
    }

    /// As [`Committer::log_access`], without waiting: the answer says when the row is durable
    /// (see [`access_result`]).
    pub fn log_access_later(&self, access: Access) -> Answer<Result<(), WriteFailed>> {
        let (reply, answer) = answer();
        self.send(Job::Access(access, reply));
        answer
    }

    /// Runs `work` on the writer thread, in turn with the appends, and waits for its result.
    pub fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn EventStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.run_later(work).wait().ok_or(StoreError::WriterGone)?
    }

    /// Hands `work` to the writer thread, to run in its turn, without waiting: its result
    /// is the answer (`None` when the writer has stopped first).
    pub fn run_later<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn EventStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Answer<Result<T, StoreError>> {
        self.later(Job::Run, work)
    }

    /// Like [`Committer::run_later`], for work that stores what the state holds (a snapshot,
    /// which holds the events of every batch submitted before it): it runs only if every
    /// batch submitted before it was written, and is answered `None` otherwise.
    pub fn run_later_if_written<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut dyn EventStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Answer<Result<T, StoreError>> {
        self.later(Job::RunIfWritten, work)
    }

    /// Hands `work` to the writer thread as the job `kind` makes of it; its result is the
    /// answer.
    fn later<T: Send + 'static>(
        &self,
        kind: fn(Task) -> Job,
        work: impl FnOnce(&mut dyn EventStore) -> Result<T, StoreError> + Send + 'static,
    ) -> Answer<Result<T, StoreError>> {
        let (reply, answer) = answer();
        self.send(kind(Box::new(move |store| reply.send(work(store)))));
        answer
    }

    /// Submits a batch; the ticket tells when it is durable.
    pub fn submit(&self, rows: Rows) -> Ticket {
        let (reply, answer) = answer();
        self.send(Job::Append(rows, None, reply));
        Ticket(answer)
    }

    /// Submits a batch with the access-log row that records it, written in the batch's own
    /// transaction: durable with it, or not written when the batch is not.
    pub fn submit_logged(&self, rows: Rows, access: Access) -> Ticket {
        let (reply, answer) = answer();
        self.send(Job::Append(rows, Some(access), reply));
        Ticket(answer)
    }

    /// The records other processes appended to the log since this writer's last write or
    /// follow, in order; from then on this writer appends after them. Only for a caller that
    /// has no batch of its own waiting here: such a batch was validated without these records
    /// and must meet the conflict the store reports instead.
    pub fn follow(&self) -> Result<Vec<crate::Record>, StoreError> {
        let (reply, answer) = answer();
        self.send(Job::Follow(reply));
        match answer.wait() {
            Some(Ok(records)) => Ok(records),
            Some(Err(WriteFailed(message))) => Err(StoreError::Other(message)),
            None => Err(StoreError::WriterGone),
        }
    }

    /// Stops the writer after the work already submitted and gives the store back.
    pub fn stop(&self) -> Result<Box<dyn EventStore>, StoreError> {
        self.send(Job::Stop);
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        thread.ok_or(StoreError::WriterGone)?.join().map_err(|_| StoreError::WriterGone)
    }
}

impl Drop for Committer {
    /// A writer nobody can reach any more finishes what it was given and closes the store.
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::answer;
    use std::future::Future;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn an_answer_is_waited_for_by_a_thread() {
        let (responder, reply) = answer::<u32>();
        let sender = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            responder.send(7);
            responder.send(8);
        });
        assert_eq!(reply.wait(), Some(7));
        sender.join().unwrap();
        let (responder, reply) = answer::<u32>();
        drop(responder);
        assert_eq!(reply.wait(), None, "a responder dropped unanswered says so");
    }

    #[test]
    fn an_answer_wakes_the_task_that_awaits_it() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let (responder, mut reply) = answer::<&str>();
        assert_eq!(std::pin::Pin::new(&mut reply).poll(&mut cx), Poll::Pending);
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
        responder.send("durable");
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken once answered");
        assert_eq!(std::pin::Pin::new(&mut reply).poll(&mut cx), Poll::Ready(Some("durable")));

        let (responder, mut reply) = answer::<&str>();
        assert_eq!(std::pin::Pin::new(&mut reply).poll(&mut cx), Poll::Pending);
        drop(responder);
        assert_eq!(count.0.load(Ordering::SeqCst), 2, "woken when the writer stopped");
        assert_eq!(std::pin::Pin::new(&mut reply).poll(&mut cx), Poll::Ready(None));
    }

    /// The writer does the store's upkeep after its answers and while idle: the runs of the
    /// access log's look-up by client are made although no write made them.
    #[test]
    fn the_writer_tidies_the_store_while_idle() {
        use crate::Access;
        let dir = std::env::temp_dir().join(format!("polku-tidy-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sqlite");
        let store = crate::sqlite::SqliteStore::open(&path).unwrap();
        let writer = super::Committer::start(Box::new(store), 0, None, 1000);
        for n in 0..40 {
            let read = Access {
                at: "2026-12-02T10:00:00Z".into(),
                actor: "hoitaja".into(),
                role: "staff".into(),
                action: "status".into(),
                client: Some(format!("client-{}", n % 7)),
                detail: String::new(),
                unit: "neuvola".into(),
                purpose: "tarkistus".into(),
                request: format!("r{n}"),
            };
            writer.log_access(read).unwrap();
        }
        let conn = rusqlite::Connection::open(&path).unwrap();
        let started = std::time::Instant::now();
        let runs = loop {
            let runs: i64 =
                conn.query_row("SELECT COUNT(*) FROM access_runs", [], |r| r.get(0)).unwrap();
            if runs == 2 || started.elapsed() > std::time::Duration::from_secs(10) {
                break runs;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        assert_eq!(runs, 2, "two runs of 16 rows made while the writer was idle");
        writer.stop().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// After an append not known to be durable, a later one told durable by the database
    /// is not answered durable either: the writer writes nothing after the first, and what
    /// was written between is answered with the first one's failure.
    #[test]
    fn after_an_append_not_known_durable_no_later_one_is_answered_durable() {
        use super::{answer, Failure, Waiting};
        use crate::WriteFailed;
        use std::sync::Mutex;
        let not_durable = Mutex::new(None);
        let (first, first_told) = answer::<Result<u64, Failure>>();
        let (later, later_told) = answer::<Result<u64, Failure>>();
        let mut lost = Waiting {
            appends: vec![(first, 5)],
            warned: true,
            durable: Some(Err(WriteFailed("the flush failed".into()))),
            ..Waiting::default()
        };
        lost.answer(&not_durable);
        let mut flushed = Waiting {
            appends: vec![(later, 9)],
            warned: true,
            durable: Some(Ok(())),
            ..Waiting::default()
        };
        flushed.answer(&not_durable);
        assert!(matches!(first_told.wait(), Some(Err(Failure::Other(_)))));
        match later_told.wait() {
            Some(Err(Failure::Other(why))) => {
                assert!(why.contains("the flush failed"), "{why}")
            }
            other => panic!("a later append was answered {other:?}"),
        }
    }

    /// A batch refused as a conflict takes the reads' rows of its group with it; they are
    /// written on their own then, and the reads are answered.
    #[test]
    fn reads_are_logged_even_when_the_batch_beside_them_is_refused() {
        use crate::{Access, EventStore, NewRecord};
        let dir = std::env::temp_dir().join(format!("polku-beside-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut store = crate::sqlite::SqliteStore::open(&dir.join("s.sqlite")).unwrap();
        let model = store.put_model("m", "{}").unwrap();
        // The writer believes the log holds 5 records; it holds none, so its batch conflicts.
        let writer = super::Committer::start(Box::new(store), 5, None, 1000);
        let read = |n: usize| Access {
            at: "2026-12-02T10:00:00Z".into(),
            actor: "hoitaja".into(),
            role: "staff".into(),
            action: "status".into(),
            client: Some(format!("client-{n}")),
            detail: String::new(),
            unit: "neuvola".into(),
            purpose: "tarkistus".into(),
            request: format!("r{n}"),
        };
        // Held back until every job is queued, so that they form one group.
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let held = writer.run_later(move |_| {
            wait.recv().ok();
            Ok(())
        });
        let first = writer.log_access_later(read(1));
        let batch = writer.submit_logged(
            vec![NewRecord { model, body: "{}".into() }],
            Access { action: "ingest".into(), client: None, ..read(0) },
        );
        let second = writer.log_access_later(read(2));
        go.send(()).unwrap();
        held.wait().unwrap().unwrap();
        assert!(batch.wait().is_err(), "the batch conflicts");
        assert_eq!(first.wait(), Some(Ok(())));
        assert_eq!(second.wait(), Some(Ok(())));
        let mut store = writer.stop().unwrap();
        let rows = store.access_log(None, 10).unwrap();
        let requests: Vec<&str> = rows.iter().map(|a| a.request.as_str()).collect();
        assert_eq!(requests, ["r2", "r1"], "the reads' rows, not the refused batch's");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
