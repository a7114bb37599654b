//! The link layer: the Ethernet header, 802.1Q/802.1ad VLAN tags (nested up to
//! [`super::MAX_DEPTH`]) and ARP; an IP payload goes on to `ip`.

use std::net::IpAddr;

use pnet_packet::arp::{ArpOperations, ArpPacket};
use pnet_packet::ethernet::{EtherType, EtherTypes, EthernetPacket};
use pnet_packet::vlan::VlanPacket;
use pnet_packet::Packet;

use super::ip::{ipv4, ipv6};
use super::layer::{Layer, Mac};
use super::{short, MAX_DEPTH};

pub(super) fn ethernet(bytes: &[u8], depth: usize, layers: &mut Vec<Layer>) {
    let Some(eth) = EthernetPacket::new(bytes) else {
        return short("ethernet", layers);
    };
    layers.push(Layer::Ethernet {
        src: Mac(eth.get_source().octets()),
        dst: Mac(eth.get_destination().octets()),
        ethertype: eth.get_ethertype().0,
    });
    by_ethertype(eth.get_ethertype(), eth.payload(), depth, layers);
}

fn by_ethertype(t: EtherType, payload: &[u8], depth: usize, layers: &mut Vec<Layer>) {
    match t {
        EtherTypes::Ipv4 => ipv4(payload, depth, layers),
        EtherTypes::Ipv6 => ipv6(payload, depth, layers),
        EtherTypes::Arp => arp(payload, layers),
        EtherTypes::Vlan | EtherTypes::QinQ => {
            let Some(v) = VlanPacket::new(payload) else {
                return short("vlan", layers);
            };
            layers.push(Layer::Vlan {
                id: v.get_vlan_identifier(),
            });
            if depth < MAX_DEPTH {
                by_ethertype(v.get_ethertype(), v.payload(), depth + 1, layers);
            }
        }
        other => layers.push(Layer::Other {
            what: format!("ethertype 0x{:04x}", other.0),
        }),
    }
}

fn arp(bytes: &[u8], layers: &mut Vec<Layer>) {
    let Some(a) = ArpPacket::new(bytes) else {
        return short("arp", layers);
    };
    let op = match a.get_operation() {
        ArpOperations::Request => "request",
        ArpOperations::Reply => "reply",
        _ => "other",
    };
    layers.push(Layer::Arp {
        op,
        sender_mac: Mac(a.get_sender_hw_addr().octets()),
        sender_ip: IpAddr::V4(a.get_sender_proto_addr()),
        target_ip: IpAddr::V4(a.get_target_proto_addr()),
    });
}
