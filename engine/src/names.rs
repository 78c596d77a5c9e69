//! Interned names: every step, phase, segment, unit and reason a case mentions is kept once and
//! referred to by number, so that a million cases stay small in memory.

use std::collections::HashMap;

/// No name.
pub const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Default)]
pub struct Names {
    list: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
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
