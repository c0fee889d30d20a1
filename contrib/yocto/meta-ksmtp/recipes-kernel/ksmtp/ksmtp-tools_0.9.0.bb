# SPDX-License-Identifier: GPL-2.0
SUMMARY = "ksmtp: configuration tools for the in-kernel SMTP client"
DESCRIPTION = "ksmtpctl configures ksmtp.ko over generic netlink and applies \
/etc/ksmtp/*.conf; ksmtp-tlsd does its TLS handshakes. With the boot unit, \
an init script, the modprobe rule that configures every load of the module \
and a configuration example."

require ksmtp.inc
LIC_FILES_CHKSUM = "file://userspace/ksmtpctl.c;beginline=1;endline=1;md5=50d2ba0afecd20f74c12a4bdbcfcfe61"

DEPENDS = "libnl gnutls json-c"

inherit pkgconfig systemd update-rc.d

# userspace/Makefile takes the build's CC, CPPFLAGS, CFLAGS, LDFLAGS as
# they are and adds its own; the paths are the image's.
EXTRA_OEMAKE = "-C userspace PREFIX=${prefix} SBINDIR=${sbindir} MANDIR=${mandir} \
                SYSCONFDIR=${sysconfdir} UNITDIR=${systemd_system_unitdir} \
                INITDIR=${sysconfdir}/init.d MODPROBEDIR=${nonarch_base_libdir}/modprobe.d \
                BASHCOMPDIR=${datadir}/bash-completion/completions KSMTP_WERROR="

do_install() {
	oe_runmake install DESTDIR=${D}
}

# The boot unit, or the init script, applies /etc/ksmtp/*.conf (nothing
# happens without one); the TLS helper is enabled where TLS is configured.
SYSTEMD_SERVICE:${PN} = "ksmtp.service"
INITSCRIPT_NAME = "ksmtp"
INITSCRIPT_PARAMS = "defaults 60"

FILES:${PN} += "${systemd_system_unitdir} ${nonarch_base_libdir}/modprobe.d \
                ${datadir}/bash-completion"
CONFFILES:${PN} += "${sysconfdir}/ksmtp/ksmtp.conf.example"
RDEPENDS:${PN} += "kmod"
RRECOMMENDS:${PN} += "kernel-module-ksmtp"
