//! The binary image of a projection: names, model versions with the positions their machines
//! know, clients and cases. Loading it and replaying the log after it is how start-up stays fast
//! with millions of events. A snapshot that does not fit (damaged, or from another build) is
//! refused, and start-up falls back to replaying the whole log: the log is the truth.

use polku_engine::case::{Compact, Kind, Opening, Runtime};
use polku_engine::chunks::Chunks;
use polku_engine::model::Model;
use polku_engine::projection::{CaseEntry, Projection};

use crate::StoreError;

const MAGIC: &[u8; 8] = b"POLKUSN3";

/// Writes a snapshot as a stream into `out`, keeping the checksum and the length as it goes,
/// so that a large one is never held whole in memory. Without a checksum it only counts.
struct Writer<'a> {
    out: &'a mut dyn std::io::Write,
    sum: Option<Sum>,
    len: u64,
}

impl Writer<'_> {
    fn raw(&mut self, v: &[u8]) -> std::io::Result<()> {
        if let Some(sum) = &mut self.sum {
            sum.update(v);
        }
        self.len += v.len() as u64;
        self.out.write_all(v)
    }
    fn u8(&mut self, v: u8) -> std::io::Result<()> {
        self.raw(&[v])
    }
    fn u16(&mut self, v: u16) -> std::io::Result<()> {
        self.raw(&v.to_le_bytes())
    }
    fn u32(&mut self, v: u32) -> std::io::Result<()> {
        self.raw(&v.to_le_bytes())
    }
    fn u64(&mut self, v: u64) -> std::io::Result<()> {
        self.raw(&v.to_le_bytes())
    }
    fn i64(&mut self, v: i64) -> std::io::Result<()> {
        self.raw(&v.to_le_bytes())
    }
    fn u128(&mut self, v: u128) -> std::io::Result<()> {
        self.raw(&v.to_le_bytes())
    }
    fn bytes(&mut self, v: &[u8]) -> std::io::Result<()> {
        self.u32(v.len() as u32)?;
        self.raw(v)
    }
    fn str(&mut self, v: &str) -> std::io::Result<()> {
        self.bytes(v.as_bytes())
    }
}

/// Writes nowhere: for counting.
struct Nowhere;

impl std::io::Write for Nowhere {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads a snapshot as a stream, so that a large one is never held whole in memory.
struct Reader<'a>(std::io::BufReader<&'a mut dyn std::io::Read>, Sum, u64);

/// A fast checksum over everything before it, so that a snapshot damaged anywhere is refused
/// instead of read into a wrong state. Eight bytes at a time, multiply-rotate mixed.
#[derive(Debug, Default)]
struct Sum {
    state: u64,
    pending: u64,
    filled: u32,
}

impl Sum {
    /// The same as taking the bytes one at a time into little-endian words, but a piece at a
    /// time: a snapshot is written and read in pieces of a few bytes, millions of them.
    fn update(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        if self.filled != 0 {
            // Top up the word begun.
            let take = (8 - self.filled as usize).min(rest.len());
            self.pending |= little_endian(&rest[..take]) << (8 * self.filled);
            self.filled += take as u32;
            rest = &rest[take..];
            if self.filled < 8 {
                return;
            }
            self.mix();
        }
        let mut words = rest.chunks_exact(8);
        for word in &mut words {
            self.pending = little_endian(word);
            self.mix();
        }
        let tail = words.remainder();
        self.pending = little_endian(tail);
        self.filled = tail.len() as u32;
    }

    fn mix(&mut self) {
        self.state =
            (self.state.rotate_left(23) ^ self.pending).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.pending = 0;
        self.filled = 0;
    }

    #[cfg(test)]
    fn byte(&mut self, b: u8) {
        self.pending |= u64::from(b) << (8 * self.filled);
        self.filled += 1;
        if self.filled == 8 {
            self.mix();
        }
    }

    fn finish(mut self, length: u64) -> u64 {
        if self.filled > 0 {
            self.mix();
        }
        self.pending = length;
        self.mix();
        self.state ^ (self.state >> 31)
    }
}

/// Up to eight bytes as a little-endian word (shifted in, not copied: most pieces are a few
/// bytes, and a copy of a length not known here costs a call).
#[inline]
fn little_endian(bytes: &[u8]) -> u64 {
    if let Ok(word) = <[u8; 8]>::try_from(bytes) {
        return u64::from_le_bytes(word);
    }
    bytes.iter().enumerate().fold(0, |w, (i, &b)| w | u64::from(b) << (8 * i))
}

fn short() -> StoreError {
    StoreError::Snapshot("the snapshot ends early".to_owned())
}

/// Counts read from the stream are trusted for at most this many items of room up front, so
/// a damaged count cannot make a huge allocation.
const ROOM: usize = 1 << 16;

impl Reader<'_> {
    fn array<const N: usize>(&mut self) -> Result<[u8; N], StoreError> {
        let mut out = [0u8; N];
        std::io::Read::read_exact(&mut self.0, &mut out).map_err(|_| short())?;
        self.1.update(&out);
        self.2 += N as u64;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, StoreError> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16, StoreError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, StoreError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, StoreError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, StoreError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    fn u128(&mut self) -> Result<u128, StoreError> {
        Ok(u128::from_le_bytes(self.array()?))
    }
    fn bytes(&mut self) -> Result<Vec<u8>, StoreError> {
        let n = self.u32()? as usize;
        let mut out = Vec::with_capacity(n.min(ROOM));
        let read =
            std::io::Read::read_to_end(&mut std::io::Read::take(&mut self.0, n as u64), &mut out)
                .map_err(|_| short())?;
        if read != n {
            return Err(short());
        }
        self.1.update(&out);
        self.2 += n as u64;
        Ok(out)
    }
    fn str(&mut self) -> Result<String, StoreError> {
        String::from_utf8(self.bytes()?)
            .map_err(|_| StoreError::Snapshot("a name is not UTF-8".to_owned()))
    }
    fn count(&mut self) -> Result<usize, StoreError> {
        Ok(self.u32()? as usize)
    }
    fn at_end(&mut self) -> bool {
        std::io::BufRead::fill_buf(&mut self.0).map(|b| b.is_empty()).unwrap_or(false)
    }
}

/// What a snapshot holds, taken from a projection in a moment: the names and the model
/// versions' positions encoded at once (they are small), the clients and cases as copies that
/// share their chunks with the projection ([`Chunks`]) and stay as they were while it goes on
/// changing. It is encoded afterwards, without holding up the projection.
pub struct Image {
    head: Vec<u8>,
    clients: Chunks<[u8; 32]>,
    cases: Chunks<CaseEntry>,
    events: u64,
}

impl std::fmt::Debug for Image {
    // Its size only: the cases are client data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("clients", &self.clients.len())
            .field("cases", &self.cases.len())
            .field("events", &self.events)
            .finish()
    }
}

impl Image {
    /// The image of `p` as it is now. Costs a copy of its names and positions and one
    /// reference per chunk of cases and clients, whatever the number of cases.
    pub fn of(p: &Projection) -> Image {
        let mut head = Vec::new();
        let mut w = Writer { out: &mut head, sum: None, len: 0 };
        // Writing to memory does not fail.
        let _ = write_head(p, &mut w);
        Image { head, clients: p.clients.clone(), cases: p.cases.clone(), events: p.events }
    }

    /// The length in bytes of the encoded image, found without making it.
    pub fn encoded_len(&self) -> u64 {
        let mut w = Writer { out: &mut Nowhere, sum: None, len: 0 };
        // Writing nowhere does not fail.
        let _ = self.write(&mut w);
        w.len + 8
    }

    /// Writes the image as a stream into `out` (best buffered), ending with its checksum;
    /// returns its length, which is [`Image::encoded_len`]. Nothing but `out` grows with the
    /// projection's size.
    pub fn encode_into(&self, out: &mut dyn std::io::Write) -> std::io::Result<u64> {
        let mut w = Writer { out, sum: Some(Sum::default()), len: 0 };
        self.write(&mut w)?;
        let check = w.sum.take().unwrap_or_default().finish(w.len);
        w.u64(check)?;
        Ok(w.len)
    }

    /// Everything but the checksum.
    fn write(&self, w: &mut Writer<'_>) -> std::io::Result<()> {
        w.raw(&self.head)?;
        w.u32(self.clients.len() as u32)?;
        for client in &self.clients {
            w.raw(client)?;
        }
        w.u32(self.cases.len() as u32)?;
        for case in &self.cases {
            write_case(case, w)?;
        }
        w.u64(self.events)
    }
}

/// Writes the image of a projection into memory. A large projection is better written with
/// [`encode_into`], which never holds the image whole.
pub fn encode(p: &Projection) -> Vec<u8> {
    let mut data = Vec::with_capacity(64 + p.cases.len() * 300);
    // Writing to memory does not fail.
    let _ = encode_into(p, &mut data);
    data
}

/// The length in bytes of the image of `p`, found without making it.
pub fn encoded_len(p: &Projection) -> u64 {
    Image::of(p).encoded_len()
}

/// Writes the image of a projection as a stream into `out` (best buffered), ending with its
/// checksum; returns its length, which is [`encoded_len`].
pub fn encode_into(p: &Projection, out: &mut dyn std::io::Write) -> std::io::Result<u64> {
    Image::of(p).encode_into(out)
}

/// The image's beginning: its format, the names and the model versions' positions.
fn write_head(p: &Projection, w: &mut Writer<'_>) -> std::io::Result<()> {
    w.raw(MAGIC)?;
    w.u32(polku_engine::EXECUTION_SEMANTICS)?;
    w.u32(p.names.len() as u32)?;
    for name in p.names.iter() {
        w.str(name)?;
    }
    w.u32(p.versions.len() as u32)?;
    for version in &p.versions {
        w.str(&version.hash)?;
        w.u32(version.execs.len() as u32)?;
        for exec in &version.execs {
            w.str(&exec.machine.process)?;
            let positions = exec.machine.positions();
            w.u32(positions.len() as u32)?;
            for position in positions {
                w.u32(position.len() as u32)?;
                for marking in position.iter() {
                    w.bytes(marking)?;
                }
            }
        }
    }
    Ok(())
}

fn write_case(case: &CaseEntry, w: &mut Writer<'_>) -> std::io::Result<()> {
    w.str(&case.id)?;
    w.u32(case.client)?;
    w.u16(case.version)?;
    w.u16(case.exec)?;
    w.u32(case.unit)?;
    w.i64(case.opening.opened)?;
    w.i64(case.opening.born.unwrap_or(i64::MIN))?;
    w.i64(case.opening.pregnancy.unwrap_or(i64::MIN))?;
    w.u32(case.opening.segment)?;
    w.u16(case.opening.facts)?;
    w.u32(case.events.len() as u32)?;
    for e in &case.events {
        w.i64(e.occurred)?;
        w.u64(e.id)?;
        w.u8(e.kind as u8)?;
        w.u32(e.a)?;
        w.u32(e.b)?;
        w.u32(e.c)?;
    }
    match &case.rt {
        None => w.u8(0),
        Some(rt) => {
            w.u8(1)?;
            w.u32(rt.position)?;
            w.u32(rt.segment)?;
            w.u16(rt.plan)?;
            for set in [rt.planned_ever, rt.skipped, rt.fired, rt.open, rt.satisfied] {
                w.u128(set)?;
            }
            w.bytes(&rt.done)?;
            w.i64(rt.closed.unwrap_or(i64::MIN))
        }
    }
}

/// Reads the image of a projection. `model` gives the compiled model of a version hash.
pub fn decode(
    data: &mut dyn std::io::Read,
    model: &mut dyn FnMut(&str) -> Result<Model, StoreError>,
) -> Result<Projection, StoreError> {
    let mut r = Reader(std::io::BufReader::with_capacity(1 << 16, data), Sum::default(), 0);
    if &r.array::<8>()? != MAGIC {
        return Err(StoreError::Snapshot("not a snapshot of this format".to_owned()));
    }
    // A snapshot holds positions and states as this build computes them: one from a build
    // that executes differently is not used.
    if r.u32()? != polku_engine::EXECUTION_SEMANTICS {
        return Err(StoreError::Snapshot("made by a build that executes differently".to_owned()));
    }
    let mut p = Projection::default();
    for _ in 0..r.count()? {
        let name = r.str()?;
        p.names.intern(&name);
    }
    let versions = r.count()?;
    for v in 0..versions {
        let hash = r.str()?;
        if p.version_index(&hash).is_some() {
            return Err(StoreError::Snapshot(format!("model version {hash} is listed twice")));
        }
        let compiled = model(&hash)?;
        let index =
            p.add_version(&hash, &compiled).map_err(|e| StoreError::Snapshot(e.to_string()))?;
        if usize::from(index) != v {
            return Err(StoreError::Snapshot("model versions out of order".to_owned()));
        }
        let version = &mut p.versions[v];
        for _ in 0..r.count()? {
            let process = r.str()?;
            let mut positions = Vec::new();
            for _ in 0..r.count()? {
                let mut markings = Vec::new();
                for _ in 0..r.count()? {
                    markings.push(r.bytes()?);
                }
                positions.push(markings);
            }
            let exec = version.by_process.get(&process).copied().ok_or_else(|| {
                StoreError::Snapshot(format!("model version {hash} has no process {process}"))
            })?;
            version.execs[usize::from(exec)]
                .machine
                .restore_positions(positions)
                .map_err(|e| StoreError::Snapshot(e.to_string()))?;
        }
    }
    for _ in 0..r.count()? {
        let client: [u8; 32] = r.array()?;
        let index = p.clients.len() as u32;
        p.clients.push(client);
        p.client_index.insert(client, index);
        p.client_cases.push(Vec::new());
    }
    let cases = r.count()?;
    p.cases.reserve(cases.min(ROOM));
    for index in 0..cases {
        let id: Box<str> = r.str()?.into();
        let client = r.u32()?;
        let version = r.u16()?;
        let exec = r.u16()?;
        let unit = r.u32()?;
        let opened = r.i64()?;
        let born = r.i64()?;
        let pregnancy = r.i64()?;
        let segment = r.u32()?;
        let facts = r.u16()?;
        let count = r.count()?;
        let mut events = Vec::with_capacity(count.min(ROOM));
        for _ in 0..count {
            let occurred = r.i64()?;
            let id = r.u64()?;
            let kind = Kind::from_u8(r.u8()?)
                .ok_or_else(|| StoreError::Snapshot("unknown event kind".to_owned()))?;
            events.push(Compact { occurred, id, kind, a: r.u32()?, b: r.u32()?, c: r.u32()? });
        }
        let rt = match r.u8()? {
            0 => None,
            _ => {
                let position = r.u32()?;
                let segment = r.u32()?;
                let plan = r.u16()?;
                let sets = [r.u128()?, r.u128()?, r.u128()?, r.u128()?, r.u128()?];
                let done = r.bytes()?.into_boxed_slice();
                let closed = r.i64()?;
                let steps = p
                    .versions
                    .get(usize::from(version))
                    .and_then(|v| v.execs.get(usize::from(exec)))
                    .map(|e| {
                        (e.machine.steps.len(), e.machine.plan_count(), e.machine.positions().len())
                    });
                let fits = steps.is_some_and(|(steps, plans, positions)| {
                    steps == done.len()
                        && usize::from(plan) < plans
                        && (position as usize) < positions
                });
                if !fits {
                    return Err(StoreError::Snapshot(format!("case {id} does not fit its model")));
                }
                Some(Runtime {
                    position,
                    segment,
                    plan,
                    planned_ever: sets[0],
                    skipped: sets[1],
                    fired: sets[2],
                    open: sets[3],
                    satisfied: sets[4],
                    done,
                    closed: (closed != i64::MIN).then_some(closed),
                })
            }
        };
        if rt.is_some() {
            let slot = p
                .client_cases
                .get_mut(client as usize)
                .ok_or_else(|| StoreError::Snapshot(format!("case {id} has an unknown client")))?;
            slot.push(index as u32);
        }
        p.case_index.insert(polku_engine::names::Key::new(&id), index as u32);
        p.cases.push(CaseEntry {
            id,
            client,
            version,
            exec,
            unit,
            opening: Opening {
                opened,
                born: (born != i64::MIN).then_some(born),
                pregnancy: (pregnancy != i64::MIN).then_some(pregnancy),
                segment,
                facts,
            },
            events,
            rt,
        });
    }
    p.events = r.u64()?;
    let length = r.2;
    let expected = std::mem::take(&mut r.1).finish(length);
    if r.u64()? != expected {
        return Err(StoreError::Snapshot("the snapshot's checksum does not match".to_owned()));
    }
    if !r.at_end() {
        return Err(StoreError::Snapshot("the snapshot has bytes after its end".to_owned()));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::Sum;

    /// Pieces of every length, in any split, sum as the bytes one at a time do.
    #[test]
    fn a_checksum_taken_in_pieces_is_the_one_taken_byte_by_byte() {
        let data: Vec<u8> =
            (0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let mut seed = 7u64;
        for _ in 0..200 {
            let (mut pieces, mut bytes) = (Sum::default(), Sum::default());
            let mut at = 0;
            while at < data.len() {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let n = ((seed >> 33) % 21) as usize;
                let piece = &data[at..(at + n).min(data.len())];
                pieces.update(piece);
                piece.iter().for_each(|&b| bytes.byte(b));
                at += piece.len();
                assert_eq!(
                    (pieces.state, pieces.pending, pieces.filled),
                    (bytes.state, bytes.pending, bytes.filled)
                );
            }
            assert_eq!(pieces.finish(data.len() as u64), bytes.finish(data.len() as u64));
        }
    }
}
