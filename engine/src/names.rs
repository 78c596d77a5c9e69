//! Interned names: every step, phase, segment, unit and reason a case mentions is kept once and
//! referred to by number, so that a million cases stay small in memory. Names come from
//! authenticated senders, so the fast non-keyed hash is used.

use std::collections::HashMap;

/// No name.
pub const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Default)]
pub struct Names {
    list: Vec<Box<str>>,
    index: HashMap<Box<str>, u32, crate::net::FxBuild>,
}

impl Names {
    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = self.list.len() as u32;
        self.list.push(name.into());
        self.index.insert(name.into(), id);
        id
    }

    /// The number of a name already known.
    pub fn find(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// The name of a number; empty for [`NONE`] or an unknown number.
    pub fn get(&self, id: u32) -> &str {
        self.list.get(id as usize).map_or("", |s| s)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Every name in order of its number, for a snapshot.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(|s| &**s)
    }
}

/// A key kept inline when short (case ids usually are), so that looking it up in a map
/// compares bytes already in the table instead of following a pointer.
#[derive(Debug, Clone)]
pub enum Key {
    Inline(u8, [u8; 22]),
    Heap(Box<str>),
}

impl Key {
    pub fn new(text: &str) -> Key {
        if text.len() <= 22 {
            let mut bytes = [0u8; 22];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            Key::Inline(text.len() as u8, bytes)
        } else {
            Key::Heap(text.into())
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            // Built from a `str`, cut at its own length: always UTF-8.
            Key::Inline(len, bytes) => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or("")
            }
            Key::Heap(text) => text,
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl std::borrow::Borrow<str> for Key {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}
