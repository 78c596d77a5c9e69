//! The events of `polku ingest` read as a stream: a thread reads the input a line at a time,
//! reads each line as an event (`polku_engine::event::parse_line`, the same reader as for a
//! whole text) and hands the good ones over through a bounded queue, so that memory does not
//! grow with the input's size and the first events are stored while the rest is still read.

use std::io::{BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use polku_engine::event::{Event, LineError, LineWarning, ReadOptions};
use polku_engine::pseudonym::PseudonymKey;

/// At most this many events read ahead of the ones being stored.
const READ_AHEAD: usize = 4096;

/// The longest line read: an event is a few hundred bytes, so a longer line is refused
/// without being held (a file with no line breaks at all would otherwise be read whole).
pub const MAX_LINE: usize = 1 << 20;

const BYTE_ORDER_MARK: &[u8] = b"\xef\xbb\xbf";

/// An event with its line number and its line as sent (without a byte-order mark or `\r`).
pub type Item = (usize, Event, Option<String>);

/// What the reader found besides the events, when the input has ended.
#[derive(Debug, Default)]
pub struct Report {
    pub errors: Vec<LineError>,
    pub warnings: Vec<LineWarning>,
    /// The lines read.
    pub lines: usize,
    /// Why reading stopped before the end, if it did.
    pub failed: Option<std::io::Error>,
}

/// Starts reading `input`; the events come on the receiver, in line order, and the report when
/// the thread is joined. `read` counts the bytes read so far. The thread stops when the input
/// ends, fails, or the receiver is dropped.
pub fn spawn(
    input: Box<dyn Read + Send>,
    key: PseudonymKey,
    read: Arc<AtomicU64>,
) -> (Receiver<Item>, JoinHandle<Report>) {
    let (events, receiver) = sync_channel(READ_AHEAD);
    let thread = std::thread::spawn(move || {
        let mut report = Report::default();
        let mut input = std::io::BufReader::with_capacity(1 << 16, input);
        let options = ReadOptions::default();
        let mut line = Vec::new();
        loop {
            let length = match next_line(&mut input, &mut line) {
                Ok(Some(length)) => length,
                Ok(None) => break,
                Err(e) => {
                    report.failed = Some(e);
                    break;
                }
            };
            read.fetch_add(length as u64, Ordering::Relaxed);
            report.lines += 1;
            let number = report.lines;
            if line.len() > MAX_LINE {
                report.errors.push(LineError {
                    line: number,
                    reason: polku_dsl::Bilingual::new(
                        format!(
                            "the line is {length} bytes long, more than the {MAX_LINE} an event may take: is this a file of events, one per line? (the line is not stored)"
                        ),
                        format!(
                            "rivi on {length} tavua pitkä, enemmän kuin tapahtuma saa viedä ({MAX_LINE}): onko tämä tapahtumatiedosto, tapahtuma riviään kohti? (riviä ei tallennettu)"
                        ),
                    ),
                });
                continue;
            }
            let mut text = line.as_slice();
            if number == 1 {
                text = text.strip_prefix(BYTE_ORDER_MARK).unwrap_or(text);
            }
            text = text.strip_suffix(b"\r").unwrap_or(text);
            match polku_engine::event::parse_line(number, text, &key, &options) {
                Ok(Some((event, warnings))) => {
                    report.warnings.extend(warnings);
                    // The stored text of a line is the line as sent.
                    let raw = std::str::from_utf8(text).ok().map(|l| l.trim().to_owned());
                    if events.send((number, event, raw)).is_err() {
                        break;
                    }
                }
                Ok(None) => {}
                Err(error) => report.errors.push(error),
            }
        }
        report
    });
    (receiver, thread)
}

/// Reads the next line into `line` (without its `\n`), keeping at most [`MAX_LINE`] bytes and
/// one more of it. Returns the line's whole length with its line break, or `None` at the end.
fn next_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Option<usize>> {
    line.clear();
    let mut length = 0;
    loop {
        let available = match input.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((length > 0).then_some(length));
        }
        let (taken, end) = match available.iter().position(|&b| b == b'\n') {
            Some(at) => (at, true),
            None => (available.len(), false),
        };
        let room = (MAX_LINE + 1).saturating_sub(line.len());
        line.extend_from_slice(&available[..taken.min(room)]);
        let used = taken + usize::from(end);
        length += used;
        input.consume(used);
        if end {
            return Ok(Some(length));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut input = std::io::BufReader::with_capacity(3, bytes);
        let mut out = Vec::new();
        let mut line = Vec::new();
        while next_line(&mut input, &mut line).expect("read").is_some() {
            let mut text = line.as_slice();
            if out.is_empty() {
                text = text.strip_prefix(BYTE_ORDER_MARK).unwrap_or(text);
            }
            out.push(text.strip_suffix(b"\r").unwrap_or(text).to_vec());
        }
        out
    }

    #[test]
    fn lines_are_split_as_a_whole_text_is() {
        for text in [
            &b""[..],
            b"\n",
            b"a",
            b"a\n",
            b"a\n\n",
            b"a\r\nb\r\n",
            b"\xef\xbb\xbfa\nb",
            b"a\n\xef\xbb\xbfb\n",
            b"\n\nlong line here\nx\xffy\r\n\r",
        ] {
            let whole: Vec<Vec<u8>> =
                polku_engine::event::split_lines(text).map(|(_, l)| l.to_vec()).collect();
            assert_eq!(lines(text), whole, "{text:?}");
        }
    }

    #[test]
    fn a_line_past_the_limit_is_counted_but_not_held() {
        let mut text = vec![b'x'; MAX_LINE * 3];
        text.extend_from_slice(b"\nnext\n");
        let mut input = std::io::BufReader::new(text.as_slice());
        let mut line = Vec::new();
        assert_eq!(next_line(&mut input, &mut line).expect("read"), Some(MAX_LINE * 3 + 1));
        assert_eq!(line.len(), MAX_LINE + 1);
        assert_eq!(next_line(&mut input, &mut line).expect("read"), Some(5));
        assert_eq!(line, b"next");
        assert_eq!(next_line(&mut input, &mut line).expect("read"), None);
    }
}
