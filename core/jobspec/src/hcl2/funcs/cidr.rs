//! CIDR functions for IPv4 and IPv6: `cidrhost`, `cidrnetmask` (IPv4 only),
//! `cidrsubnet`, `cidrsubnets`. Addresses are handled as `u128` with the family's
//! width, so one implementation serves both.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hcl::Value;
use hcl::eval::{Context, ParamType as P};

use super::{def, int, s};

/// A network: its first address, prefix length and address width (32 or 128).
#[derive(Debug, Clone, Copy)]
struct Net {
    base: u128,
    bits: u32,
    width: u32,
}

impl Net {
    fn parse(text: &str, arg: &str) -> Result<Net, String> {
        let (ip, bits) = text
            .split_once('/')
            .ok_or_else(|| format!("{arg}: invalid CIDR \"{text}\": expected address/prefix"))?;
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| format!("{arg}: invalid IP address in \"{text}\""))?;
        let (addr, width) = match ip {
            IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
            IpAddr::V6(a) => (u128::from(a), 128),
        };
        let bits: u32 = bits
            .parse()
            .ok()
            .filter(|b| *b <= width)
            .ok_or_else(|| format!("{arg}: invalid prefix length in \"{text}\""))?;
        Ok(Net {
            base: addr & mask(bits, width),
            bits,
            width,
        })
    }

    /// log2 of the number of addresses.
    fn host_bits(&self) -> u32 {
        self.width - self.bits
    }

    fn addr_text(&self, a: u128) -> String {
        if self.width == 32 {
            Ipv4Addr::from(a as u32).to_string()
        } else {
            Ipv6Addr::from(a).to_string()
        }
    }

    fn family(&self) -> &'static str {
        if self.width == 32 { "IPv4" } else { "IPv6" }
    }
}

/// The netmask of `bits` ones in an address of `width` bits.
fn mask(bits: u32, width: u32) -> u128 {
    let all = if width == 128 {
        u128::MAX
    } else {
        (1u128 << width) - 1
    };
    match bits {
        0 => 0,
        b if b >= width => all,
        b => all & !(all >> b),
    }
}

/// 2^n as i128, saturating (n ≤ 128).
fn pow2(n: u32) -> i128 {
    if n >= 127 { i128::MAX } else { 1i128 << n }
}

pub(super) fn register(ctx: &mut Context) {
    def(ctx, "cidrhost", &[P::String, P::Number], None, |a| {
        let net = Net::parse(&s(&a[0]), "argument 1 (prefix)")?;
        let host = i128::from(int(&a[1]).map_err(|e| format!("argument 2 (hostnum): {e}"))?);
        let size = pow2(net.host_bits());
        let h = if host < 0 {
            size.saturating_add(host)
        } else {
            host
        };
        if !(0..size).contains(&h) {
            return Err(format!(
                "prefix of {} bits cannot accommodate a host numbered {host}",
                net.bits
            ));
        }
        Ok(Value::from(net.addr_text(net.base + h as u128)))
    });
    def(ctx, "cidrnetmask", &[P::String], None, |a| {
        let net = Net::parse(&s(&a[0]), "argument 1 (prefix)")?;
        if net.width != 32 {
            return Err(
                "argument 1 (prefix): only IPv4 networks have a netmask; IPv6 uses the prefix length"
                    .to_string(),
            );
        }
        Ok(Value::from(net.addr_text(mask(net.bits, 32))))
    });
    def(
        ctx,
        "cidrsubnet",
        &[P::String, P::Number, P::Number],
        None,
        |a| {
            let net = Net::parse(&s(&a[0]), "argument 1 (prefix)")?;
            let newbits = int(&a[1]).map_err(|e| format!("argument 2 (newbits): {e}"))?;
            let num = i128::from(int(&a[2]).map_err(|e| format!("argument 3 (netnum): {e}"))?);
            let total = i64::from(net.bits) + newbits;
            if newbits < 0 || total > i64::from(net.width) {
                return Err(format!(
                    "insufficient address space to extend prefix of {} by {newbits}",
                    net.bits
                ));
            }
            let total = total as u32;
            if num < 0 || num >= pow2(newbits as u32) {
                return Err(format!(
                    "prefix extension of {newbits} does not accommodate a subnet numbered {num}"
                ));
            }
            let shift = net.width - total;
            let sub = net.base | (num as u128).checked_shl(shift).unwrap_or(0);
            Ok(Value::from(format!("{}/{total}", net.addr_text(sub))))
        },
    );
    def(ctx, "cidrsubnets", &[P::String], Some(P::Number), |a| {
        let net = Net::parse(&s(&a[0]), "argument 1 (prefix)")?;
        let end = net.base | (mask(net.width, net.width) & !mask(net.bits, net.width));
        // The next free address, as an offset that may run one past the end.
        let mut next: Option<u128> = Some(net.base);
        let mut out = Vec::new();
        for (i, v) in a.iter().skip(1).enumerate() {
            let arg = format!("argument {} (newbits)", i + 2);
            let newbits = int(v).map_err(|e| format!("{arg}: {e}"))?;
            if newbits < 1 {
                return Err(format!("{arg}: must extend the prefix by at least one bit"));
            }
            let len = i64::from(net.bits) + newbits;
            if len > i64::from(net.width) {
                return Err(format!(
                    "{arg}: would extend the prefix to {len} bits, too long for an {} address",
                    net.family()
                ));
            }
            let size_bits = net.width - len as u32;
            let no_room = || {
                format!(
                    "{arg}: not enough remaining address space for a subnet with a prefix of {len} bits"
                )
            };
            let cursor = next.ok_or_else(no_room)?;
            // Align up to the subnet size.
            let align = if size_bits >= 128 {
                0
            } else {
                (1u128 << size_bits) - 1
            };
            let start = cursor.checked_add(align).ok_or_else(no_room)? & !align;
            let last = start + align;
            if start < cursor || last > end {
                return Err(no_room());
            }
            out.push(Value::from(format!("{}/{len}", net.addr_text(start))));
            next = last.checked_add(1);
        }
        Ok(Value::Array(out))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask(0, 32), 0);
        assert_eq!(mask(24, 32), 0xffff_ff00);
        assert_eq!(mask(32, 32), 0xffff_ffff);
        assert_eq!(mask(128, 128), u128::MAX);
        assert_eq!(mask(1, 128), 1u128 << 127);
    }
}
