//! How a run of provider calls was paced: the busiest second, and the closest two calls
//! to one chat.

use crate::Call;
use std::collections::HashMap;
use std::time::Duration;

/// The most calls that arrived within any one second (a window opening at each call).
pub fn busiest_second(calls: &[Call]) -> usize {
    let mut times: Vec<_> = calls.iter().map(|c| c.at).collect();
    times.sort();
    let mut busiest = 0;
    let mut end = 0;
    for (start, opened) in times.iter().enumerate() {
        while end < times.len() && times[end].duration_since(*opened) < Duration::from_secs(1) {
            end += 1;
        }
        busiest = busiest.max(end - start);
    }
    busiest
}

/// The shortest time between two calls to the same `chat_id`, if any chat got two.
pub fn closest_calls_to_one_chat(calls: &[Call]) -> Option<Duration> {
    let mut by_chat: HashMap<String, Vec<_>> = HashMap::new();
    for call in calls {
        by_chat
            .entry(call.body["chat_id"].to_string())
            .or_default()
            .push(call.at);
    }
    by_chat
        .into_values()
        .flat_map(|mut times| {
            times.sort();
            times
                .windows(2)
                .map(|pair| pair[1].duration_since(pair[0]))
                .collect::<Vec<_>>()
        })
        .min()
}
