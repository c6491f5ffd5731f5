//! Ringback's actors: the live, clocked side of the domain in `engine`. Each actor owns one
//! sans-IO core from `engine`, feeds it the time, arms its next timer and fans its events out.

pub mod push;
