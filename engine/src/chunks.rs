//! A vector kept in shared chunks, so that a copy of it costs one reference per chunk and the
//! copy stays as it was while the original changes: a chunk is copied only when it is changed
//! while a copy shares it (copy on write). The projection keeps its cases and clients so, and
//! a snapshot encodes such a copy without holding up the batches applied meanwhile.

use std::sync::Arc;

/// How many items a chunk holds (a power of two). Small, so that a change made while a copy is
/// shared copies little: with a million cases and 20,000 changes spread over them while a
/// snapshot was written, chunks of 16 grew the memory by a quarter, chunks of 256 by two
/// thirds (docs/benchmarks.md, "Chunks of 16"), for about 20 bytes a case more.
const CHUNK: usize = 16;
const SHIFT: u32 = CHUNK.trailing_zeros();

/// The items of a [`Chunks`] in order: a chunk at a time, with no call per item.
pub type Iter<'a, T> = std::iter::Flatten<
    std::iter::Map<std::slice::Iter<'a, Arc<Vec<T>>>, fn(&'a Arc<Vec<T>>) -> &'a [T]>,
>;

/// A growable list of `T` in chunks of [`CHUNK`], shared between copies until changed.
#[derive(Debug, Clone)]
pub struct Chunks<T> {
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T> Default for Chunks<T> {
    fn default() -> Self {
        Chunks { chunks: Vec::new(), len: 0 }
    }
}

impl<T: Clone> Chunks<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i >> SHIFT).and_then(|chunk| chunk.get(i & (CHUNK - 1)))
    }

    /// The item at `i` to change, its chunk copied first if a copy of the list shares it.
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        let chunk = self.chunks.get_mut(i >> SHIFT)?;
        Arc::make_mut(chunk).get_mut(i & (CHUNK - 1))
    }

    pub fn push(&mut self, item: T) {
        if self.len & (CHUNK - 1) == 0 {
            self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        let last = self.chunks.last_mut().expect("a chunk with room");
        Arc::make_mut(last).push(item);
        self.len += 1;
    }

    /// Room for `more` items without growing the list of chunks.
    pub fn reserve(&mut self, more: usize) {
        self.chunks.reserve((self.len + more).div_ceil(CHUNK).saturating_sub(self.chunks.len()));
    }

    #[allow(clippy::map_flatten)] // Its type has a name (`Iter`), which `flat_map`'s has not.
    pub fn iter<'a>(&'a self) -> Iter<'a, T> {
        let items: fn(&'a Arc<Vec<T>>) -> &'a [T] = |chunk| chunk.as_slice();
        self.chunks.iter().map(items).flatten()
    }

    /// Every item to change in turn; every chunk shared with a copy is copied first.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.chunks.iter_mut().flat_map(|chunk| Arc::make_mut(chunk).iter_mut())
    }
}

impl<T: Clone> std::ops::Index<usize> for Chunks<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(item) => item,
            None => panic!("index {i} out of a list of {}", self.len),
        }
    }
}

impl<T: Clone> std::ops::IndexMut<usize> for Chunks<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        let len = self.len;
        match self.get_mut(i) {
            Some(item) => item,
            None => panic!("index {i} out of a list of {len}"),
        }
    }
}

impl<'a, T: Clone> IntoIterator for &'a Chunks<T> {
    type Item = &'a T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Clone> FromIterator<T> for Chunks<T> {
    fn from_iter<I: IntoIterator<Item = T>>(items: I) -> Self {
        let mut list = Chunks::new();
        for item in items {
            list.push(item);
        }
        list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl<T: Clone> Chunks<T> {
        /// Whether `other` is a copy of this list that shares every chunk with it: nothing
        /// was changed in either since it was taken.
        fn shares_all(&self, other: &Chunks<T>) -> bool {
            self.len == other.len
                && self.chunks.iter().zip(&other.chunks).all(|(a, b)| Arc::ptr_eq(a, b))
        }
    }

    #[test]
    fn a_copy_keeps_what_it_held_while_the_original_changes_and_grows() {
        let mut list: Chunks<Vec<u32>> = (0..1000u32).map(|i| vec![i]).collect();
        let copy = list.clone();
        assert!(list.shares_all(&copy));
        list[3].push(7);
        list[999] = vec![1];
        for i in 1000..1300u32 {
            list.push(vec![i]);
        }
        *list.get_mut(600).unwrap() = Vec::new();
        assert_eq!(copy.len(), 1000);
        assert!(copy.iter().enumerate().all(|(i, item)| *item == vec![i as u32]));
        assert_eq!(list[3], vec![3, 7]);
        assert_eq!(list[999], vec![1]);
        assert!(list[600].is_empty());
        assert_eq!(list.len(), 1300);
        assert_eq!(list.iter().count(), 1300);
        assert_eq!(list[1299], vec![1299]);
        // Only the chunks changed were copied: the others are still shared.
        let shared =
            list.chunks.iter().zip(&copy.chunks).filter(|(a, b)| Arc::ptr_eq(a, b)).count();
        assert_eq!(shared, copy.chunks.len() - 3);
        assert!(!list.shares_all(&copy));
    }

    #[test]
    fn items_are_found_where_they_were_pushed_across_chunks() {
        let mut list: Chunks<usize> = Chunks::new();
        assert!(list.is_empty() && list.get(0).is_none());
        for i in 0..(CHUNK * 3 + 5) {
            list.push(i);
        }
        assert_eq!(list.len(), CHUNK * 3 + 5);
        for i in 0..list.len() {
            assert_eq!(list[i], i);
        }
        assert!(list.get(list.len()).is_none());
        assert!(list.get_mut(list.len()).is_none());
        assert_eq!(list.iter().next_back(), Some(&(CHUNK * 3 + 4)));
        for item in list.iter_mut() {
            *item += 1;
        }
        assert_eq!((&list).into_iter().sum::<usize>(), (1..=CHUNK * 3 + 5).sum::<usize>());
    }
}
