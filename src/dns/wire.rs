//! DNS messages: one query in, one reply out, with hickory-proto. Pure.

use std::net::IpAddr;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};

/// glibc's EDNS0 payload size since 2.32 (`RESOLV_EDNS_BUFFER_SIZE`).
pub const EDNS_PAYLOAD: u16 = 1200;

/// A query as bytes for UDP (prefix it with its length for TCP).
pub fn encode(id: u16, name: &str, rt: RecordType, edns0: bool) -> Result<Vec<u8>, String> {
    // Relaxed: glibc sends underscores and other punctuation a strict parser would refuse.
    let qname = Name::from_str_relaxed(name).map_err(|e| format!("bad name {name}: {e}"))?;
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(qname, rt));
    if edns0 {
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        msg.set_edns(edns);
    }
    msg.to_vec()
        .map_err(|e| format!("cannot encode the query: {e}"))
}

/// What a reply said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub id: u16,
    /// `NOERROR`, `NXDOMAIN`, `SERVFAIL`, `REFUSED`, …
    pub rcode: String,
    pub truncated: bool,
    /// Answer records as `name TTL TYPE data`.
    pub answers: Vec<String>,
    /// Addresses among the answers (A/AAAA at the end of a CNAME chain).
    pub addresses: Vec<IpAddr>,
    /// Whether an answer has the type asked for (a CNAME alone is no data).
    pub has_wanted: bool,
}

impl Reply {
    /// NOERROR and NXDOMAIN end a query; SERVFAIL, REFUSED and NOTIMP make glibc try the
    /// next server (`send_dg`).
    pub fn is_final(&self) -> bool {
        self.rcode == "NOERROR" || self.rcode == "NXDOMAIN"
    }
}

pub fn rcode_name(rc: ResponseCode) -> String {
    match rc {
        ResponseCode::NoError => "NOERROR".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        ResponseCode::Refused => "REFUSED".into(),
        other => format!("{other:?}").to_ascii_uppercase(),
    }
}

/// Parses a reply to a query for `rt`.
pub fn decode(bytes: &[u8], rt: RecordType) -> Result<Reply, String> {
    let msg = Message::from_vec(bytes).map_err(|e| format!("undecodable reply: {e}"))?;
    let mut answers = Vec::new();
    let mut addresses = Vec::new();
    let mut has_wanted = false;
    for r in &msg.answers {
        answers.push(format!(
            "{} {} {} {}",
            r.name,
            r.ttl,
            r.record_type(),
            r.data
        ));
        if r.record_type() == rt {
            has_wanted = true;
        }
        match &r.data {
            RData::A(a) => addresses.push(IpAddr::V4(a.0)),
            RData::AAAA(a) => addresses.push(IpAddr::V6(a.0)),
            _ => {}
        }
    }
    Ok(Reply {
        id: msg.metadata.id,
        rcode: rcode_name(msg.metadata.response_code),
        truncated: msg.metadata.truncation,
        answers,
        addresses,
        has_wanted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::A;
    use hickory_proto::rr::Record;

    #[test]
    fn round_trip_through_a_reply() {
        let q = encode(7, "web.corp.test.", RecordType::A, true).expect("encode");
        let mut m = Message::from_vec(&q).expect("decode our query");
        assert!(m.metadata.recursion_desired);
        assert_eq!(m.edns.as_ref().map(|e| e.max_payload()), Some(EDNS_PAYLOAD));
        m.metadata.message_type = MessageType::Response;
        let name = Name::from_ascii("web.corp.test.").expect("name");
        m.add_answer(Record::from_rdata(name, 60, RData::A(A::new(10, 9, 8, 7))));
        let r = decode(&m.to_vec().expect("bytes"), RecordType::A).expect("reply");
        assert_eq!((r.id, r.rcode.as_str(), r.has_wanted), (7, "NOERROR", true));
        assert_eq!(r.addresses, vec!["10.9.8.7".parse::<IpAddr>().expect("ip")]);
        assert!(r.answers[0].contains("10.9.8.7"), "{:?}", r.answers);
        assert!(decode(&q[..5], RecordType::A).is_err());
        assert!(encode(1, "_sip._tcp.x_y.test.", RecordType::SRV, false).is_ok());
    }
}
