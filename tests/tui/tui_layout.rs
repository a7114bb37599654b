//! The layout at the sizes people use (80×24, 120×40, 200×60): every tab, the tab bar and
//! its click spans, the narrowed and hidden namespace list, column priorities, and popups
//! that wrap and scroll. Pictures in `snapshots/` (insta).

use crate::common;

use common::tui::{app, app_over, asset, key, screen};
use crossterm::event::{Event, KeyCode, KeyModifiers, MouseEvent, MouseEventKind};
use netlens::ui::app::{App, Source};
use netlens::ui::keymap::help_lines;
use netlens::ui::tabs::Tab;
use netlens::ui::Msg;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (200, 60)];

fn select(app: &mut App, ns: &str) {
    app.ns_selected = app
        .visible_namespaces()
        .iter()
        .position(|n| n.name == ns)
        .unwrap_or_else(|| panic!("{ns} not in the demo snapshot"));
}

fn go(app: &mut App, tab: Tab) {
    key(app, KeyCode::Char(tab.key()));
    assert_eq!(app.tab, tab);
}

/// The screen's rows without the backend's quotes.
fn rows(s: &str) -> Vec<String> {
    s.lines().map(|l| l.trim_matches('"').to_string()).collect()
}

/// The words on screen, borders taken off: a word cut by a border or a wrap is not there.
fn words(s: &str) -> std::collections::HashSet<String> {
    rows(s)
        .join("\n")
        .split(|c: char| c.is_whitespace() || "│┌┐└┘─".contains(c))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn assert_whole(s: &str, text: &str) {
    let on_screen = words(s);
    for w in text.split_whitespace() {
        assert!(
            on_screen.contains(w),
            "{w:?} of {text:?} is not whole on:\n{s}"
        );
    }
}

#[test]
fn every_tab_at_three_sizes() {
    for (w, h) in SIZES {
        let mut a = app("demo-bridge.json");
        select(&mut a, "bridge-host");
        for tab in Tab::ALL {
            go(&mut a, tab);
            let s = screen(&mut a, w, h);
            let bar = &rows(&s)[0];
            // The active tab, with its key, is on the bar at every width.
            assert!(bar.contains(tab.label().trim()), "{tab:?} at {w}: {bar}");
            let name = format!("bridge_host_{w}x{h}_{}", tab.title().to_lowercase());
            insta::assert_snapshot!(name, s);
        }
    }
}

#[test]
fn the_cluster_node_and_a_pod_at_three_sizes() {
    for (w, h) in SIZES {
        let mut a = app("demo-cluster.json");
        select(&mut a, "cluster-node1");
        insta::assert_snapshot!(format!("cluster_node1_links_{w}x{h}"), screen(&mut a, w, h));
        select(&mut a, "cluster-n1-pod1");
        go(&mut a, Tab::Routes);
        insta::assert_snapshot!(format!("cluster_pod_routes_{w}x{h}"), screen(&mut a, w, h));
    }
}

#[test]
fn tab_spans_are_what_the_bar_draws() {
    for w in [80, 120, 200] {
        let mut a = app("demo-bridge.json");
        for tab in Tab::ALL {
            go(&mut a, tab);
            let s = screen(&mut a, w, 24);
            let bar: Vec<char> = rows(&s)[0].chars().collect();
            let spans = a.areas.tab_spans.clone();
            let (s0, e0) = spans[tab.index()];
            assert!(e0 > s0, "{tab:?} not on the bar at {w}");
            for (t, (start, end)) in Tab::ALL.iter().zip(spans) {
                if end <= start {
                    continue;
                }
                let drawn: String = bar[usize::from(start)..usize::from(end)].iter().collect();
                assert_eq!(drawn, t.label(), "{t:?} with {tab:?} active at {w}");
            }
        }
    }
}

#[test]
fn at_80_columns_key_columns_stay_whole() {
    let mut a = app("demo-cluster.json");
    select(&mut a, "cluster-n1-pod1");
    go(&mut a, Tab::Routes);
    let s = screen(&mut a, 80, 24);
    let on_screen = words(&s);
    assert!(on_screen.contains("default"), "{s}");
    assert!(on_screen.contains("10.244.1.0/24"), "{s}");
    // The least important columns went first.
    assert!(
        !on_screen.contains("src") && on_screen.contains("via"),
        "{s}"
    );

    let mut a = app("demo-bridge.json");
    select(&mut a, "bridge-host");
    let s = screen(&mut a, 80, 24);
    assert!(words(&s).contains("veth-blue-br"), "{s}");
    assert!(!words(&s).contains("mac"), "{s}");
}

#[test]
fn the_sidebar_narrows_cuts_long_names_in_the_middle_and_b_hides_it() {
    let mut snap = asset("demo-bridge.json");
    let long = "netns-317be69c-c827-307f-4077-1abcdef";
    snap.namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-red")
        .expect("bridge-red")
        .name = long.into();
    let mut a = app_over("demo-bridge.json", snap);
    select(&mut a, "bridge-host");
    go(&mut a, Tab::Routes);
    let s = screen(&mut a, 80, 24);
    let line = rows(&s)
        .into_iter()
        .find(|l| l.contains("netns-"))
        .unwrap_or_else(|| panic!("no label:\n{s}"));
    let label: String = line.chars().skip(1).take_while(|c| *c != '│').collect();
    // The counts give way first (they are in the tab's title too), then the middle of the
    // name: its start and its end stay.
    let label = label.trim();
    assert!(
        label.starts_with("netns-") && label.contains('…') && label.ends_with("4077-1abcdef"),
        "{line}"
    );
    // Names that differ only inside (cluster-n1-pod1, cluster-n2-pod1) stay apart at 80.
    let mut c = app("demo-cluster.json");
    let s80 = screen(&mut c, 80, 24);
    for pod in ["cluster-n1-pod1", "cluster-n2-pod1", "cluster-n3-pod2"] {
        assert!(
            s80.contains(pod),
            "{pod} whole in the list at 80 columns:\n{s80}"
        );
    }
    assert!(!words(&s).contains("proto"), "{s}");

    key(&mut a, KeyCode::Char('b'));
    let s = screen(&mut a, 80, 24);
    assert!(!s.contains("namespaces"), "{s}");
    assert!(words(&s).contains("proto"), "the table gets the width: {s}");
    insta::assert_snapshot!("sidebar_hidden_routes_80x24", s);
    key(&mut a, KeyCode::Char('b'));
    assert!(screen(&mut a, 80, 24).contains("namespaces"));
    // Hidden, ← brings the list back to focus it.
    key(&mut a, KeyCode::Char('b'));
    key(&mut a, KeyCode::Left);
    assert!(screen(&mut a, 80, 24).contains("namespaces"));
}

#[test]
fn popups_on_tiny_terminals_do_not_panic() {
    let mut a = app("demo-bridge.json");
    let text: Vec<String> = (1..=50)
        .map(|i| format!("     command {i} with words"))
        .collect();
    for (w, h) in [(1, 1), (10, 3), (40, 5), (300, 100)] {
        key(&mut a, KeyCode::Char('?'));
        let _ = screen(&mut a, w, h);
        key(&mut a, KeyCode::Char('G'));
        let _ = screen(&mut a, w, h);
        key(&mut a, KeyCode::Esc);
        a.handle(Msg::Report(" r ".into(), text.clone()));
        let _ = screen(&mut a, w, h);
        key(&mut a, KeyCode::End);
        let _ = screen(&mut a, w, h);
        key(&mut a, KeyCode::Esc);
    }
}

#[test]
fn an_indented_report_line_wraps_under_itself() {
    let mut a = app("demo-bridge.json");
    let cmd = "     ip netns exec bridge-red ip route replace default via 192.168.15.5 dev \
               veth-red proto static metric 100 onlink";
    a.handle(Msg::Report(
        " plan ".into(),
        vec!["1. a step".into(), cmd.into()],
    ));
    let s = screen(&mut a, 80, 24);
    assert_whole(&s, cmd);
    let rows = rows(&s);
    let first = rows
        .iter()
        .position(|l| l.contains("ip netns exec"))
        .expect("command");
    let col = |l: &str, w: &str| l.find(w).map(|b| l[..b].chars().count());
    // The next row starts under the command, not at the border.
    let next = rows[first + 1].trim_start_matches([' ', '│']);
    let word = next.split_whitespace().next().expect("a continued row");
    assert_eq!(
        col(&rows[first + 1], word),
        col(&rows[first], "ip netns"),
        "{s}"
    );
}

#[test]
fn help_details_and_a_report_at_three_sizes() {
    let report: Vec<String> = (1..=30)
        .map(|i| {
            if i == 3 {
                "a long line of the report that goes on and on past the width of a small \
                 terminal so that it has to wrap at word boundaries and never cut a word \
                 such as confirmation or netfilter in two"
                    .to_string()
            } else {
                format!("step {i} of the report")
            }
        })
        .collect();
    for (w, h) in SIZES {
        let mut a = app("demo-bridge.json");
        key(&mut a, KeyCode::Char('?'));
        let s = screen(&mut a, w, h);
        insta::assert_snapshot!(format!("help_{w}x{h}"), s);
        key(&mut a, KeyCode::Esc);

        select(&mut a, "bridge-host");
        key(&mut a, KeyCode::Char('l'));
        for _ in 0..3 {
            key(&mut a, KeyCode::Char('j'));
        }
        key(&mut a, KeyCode::Enter);
        let s = screen(&mut a, w, h);
        assert!(s.contains("Links in bridge-host"), "{s}");
        insta::assert_snapshot!(format!("details_{w}x{h}"), s);
        key(&mut a, KeyCode::Esc);

        a.handle(Msg::Report(" path report ".into(), report.clone()));
        let s = screen(&mut a, w, h);
        assert_whole(&s, &report[2]);
        insta::assert_snapshot!(format!("report_{w}x{h}"), s);
    }
}

#[test]
fn every_help_line_can_be_read_at_80_columns() {
    let mut a = app("demo-bridge.json");
    key(&mut a, KeyCode::Char('?'));
    let mut seen = String::new();
    for _ in 0..20 {
        seen.push_str(&screen(&mut a, 80, 24));
        key(&mut a, KeyCode::PageDown);
    }
    for (keys, what) in help_lines() {
        assert!(seen.contains(keys), "help lacks {keys}");
        assert_whole(&seen, what);
    }
}

#[test]
fn a_long_report_scrolls_to_its_last_line() {
    let mut a = app("demo-bridge.json");
    let text: Vec<String> = (1..=200).map(|i| format!("line {i}")).collect();
    a.handle(Msg::Report(" long ".into(), text));
    let s = screen(&mut a, 80, 24);
    // 22 rows less the borders show, then the hint.
    assert!(s.contains("line 1 ") && !s.contains("line 21 "), "{s}");
    assert!(s.contains("lines 1–20 of 201"), "{s}");
    let wheel = |a: &mut App| {
        a.handle(Msg::Input(Event::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 40,
            row: 10,
            modifiers: KeyModifiers::NONE,
        })));
    };
    wheel(&mut a);
    assert!(screen(&mut a, 80, 24).contains("lines 2–21 of 201"));
    key(&mut a, KeyCode::PageDown);
    assert!(screen(&mut a, 80, 24).contains("lines 21–40 of 201"));
    key(&mut a, KeyCode::Char('G'));
    let s = screen(&mut a, 80, 24);
    assert!(s.contains("line 200") && s.contains("of 201"), "{s}");
    key(&mut a, KeyCode::Char('g'));
    assert!(screen(&mut a, 80, 24).contains("lines 1–20 of 201"));
}

#[test]
fn a_long_status_and_a_form_error_are_read_whole_at_80_columns() {
    let mut a = app("demo-bridge.json");
    a.status = "plan not applied: step 3 of 4 (add route 10.0.0.0/8 via 192.168.1.1 in \
                bridge-red) failed: Network is unreachable; steps 1 and 2 were undone"
        .into();
    let s = screen(&mut a, 80, 24);
    let status: String = rows(&s)[21..].join("\n");
    assert_whole(&status, &a.status);

    let mut a = App::new(Source::Live, Some(asset("demo-bridge.json")));
    a.theme.color = false;
    select(&mut a, "bridge-red");
    key(&mut a, KeyCode::Char('a'));
    key(&mut a, KeyCode::Char('b'));
    for c in "bad/name-that-is-long-enough-to-matter".chars() {
        key(&mut a, KeyCode::Char(c));
    }
    key(&mut a, KeyCode::Enter);
    let netlens::ui::components::actions::Overlay::Form(form) = &a.overlay else {
        panic!("the form stays open: {:?}", a.overlay)
    };
    let error = form.error.clone().expect("an error");
    assert_whole(&screen(&mut a, 80, 24), &format!("! {error}"));
}
