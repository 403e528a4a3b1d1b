//! Which connection a full server closes for a newcomer. The oldest of all is not
//! fair: an attacker who keeps reopening sockets makes its own the newest, and a
//! newcomer still signing in becomes the oldest. So the choice is the oldest of the
//! address holding most of the candidates: a newcomer from an address of its own is
//! never the one to go while another address holds more.

use std::collections::HashMap;
use std::hash::Hash;

/// Of `candidates` (id, address, opened), the one to close, or None when there are none.
pub fn evictee<I: Ord + Copy, A: Hash + Eq + Copy, T: Ord + Copy>(
    candidates: impl Iterator<Item = (I, A, T)> + Clone,
) -> Option<I> {
    let mut held: HashMap<A, usize> = HashMap::new();
    for (_, address, _) in candidates.clone() {
        *held.entry(address).or_default() += 1;
    }
    let most = held.values().copied().max()?;
    candidates
        .filter(|(_, address, _)| held[address] == most)
        .min_by_key(|(id, _, opened)| (*opened, *id))
        .map(|(id, _, _)| id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oldest_of_the_largest_holder_goes() {
        // (id, address, opened): address 1 holds the oldest, address 2 holds most.
        let c = [(10, 1, 0), (11, 2, 5), (12, 2, 3), (13, 2, 9)];
        assert_eq!(evictee(c.iter().copied()), Some(12));
        // Holding as many, the oldest overall; ties in age by id.
        let even = [(10, 1, 4), (11, 2, 2), (12, 1, 6), (13, 2, 2)];
        assert_eq!(evictee(even.iter().copied()), Some(11));
        assert_eq!(evictee(std::iter::empty::<(u8, u8, u8)>()), None);
    }
}
