# pdsd: an AT Protocol Personal Data Server.
#
#	make			build pdsd/pdsd, signerd/signerd, pdsctl/pdsctl
#	make run		build, then run pdsd in the foreground (defaults)
#	make test		unit + regress + man lint, plain and sanitized
#	make san		ASan + UBSan build under san/
#	make fuzz		build and run every libFuzzer target, bounded
#	make deps		install the Debian packages we need
#	make install		PREFIX=/usr/local DESTDIR=

VERSION =	0.1.0
PREFIX ?=	/usr/local
SBINDIR ?=	$(PREFIX)/sbin
MANDIR ?=	$(PREFIX)/share/man
O ?=		.

CC ?=		cc
CFLAGS ?=	-O2 -g
WARNFLAGS =	-Wall -Wextra -Werror -Wno-unused-parameter \
		-Wmissing-prototypes -Wstrict-prototypes -Wshadow \
		-Wpointer-arith -Wformat=2
PKGS =		libevent sqlite3 libcbor libsodium libsecp256k1 json-c \
		libbsd-overlay libbsd-ctor libseccomp libcrypto libcurl zlib
# On a fresh machine the libraries (and pkg-config) come with deps-check,
# but the flags below are read when this file is: install them first.
PKG_OK !=	pkg-config --exists $(PKGS) libisal 2>/dev/null && echo yes || true
ifeq ($(PKG_OK)$(NODEPS),)
DEPS_LOG !=	sh tools/deps.sh check >&2
endif
PKG_CFLAGS !=	pkg-config --cflags $(PKGS) 2>/dev/null || true
PKG_LIBS !=	pkg-config --libs $(PKGS) 2>/dev/null || true
CPPFLAGS +=	-Icommon -Ipdsd -D_GNU_SOURCE -DPDS_VERSION=\"$(VERSION)\" \
		-DPDS_SBINDIR=\"$(SBINDIR)\" $(PKG_CFLAGS) -pthread
LDLIBS +=	$(PKG_LIBS) -lwslay -lresolv -lm -pthread
# ISA-L's igzip, when installed, makes getRepo's gzip pieces (pdsd/gzip.c)
ISAL_CFLAGS !=	pkg-config --exists libisal 2>/dev/null && echo -DHAVE_ISAL || true
ISAL_LIBS !=	pkg-config --libs libisal 2>/dev/null || true
CPPFLAGS +=	$(ISAL_CFLAGS)
LDLIBS +=	$(ISAL_LIBS)

YACC =		byacc

COMMON_SRCS :=	$(sort $(wildcard common/*.c))
PDSD_SRCS :=	$(sort $(wildcard pdsd/*.c))
SIGNERD_SRCS :=	$(sort $(wildcard signerd/*.c))
PDSCTL_SRCS :=	$(sort $(wildcard pdsctl/*.c))
UNIT_SRCS :=	$(sort $(wildcard tests/unit/test_*.c))
FUZZ_SRCS :=	$(sort $(wildcard tests/fuzz/fuzz_*.c))
SQL :=		$(sort $(wildcard sql/*.sql))
LEXICONS !=	find lexicons -name '*.json' | LC_ALL=C sort
MANS :=		man/pdsd.8 man/pdsd.conf.5 man/signerd.8 man/pdsctl.8

OBJ =		$(O)/obj
COMMON_OBJS :=	$(COMMON_SRCS:%.c=$(OBJ)/%.o) $(OBJ)/common/lexicon_embed.o
PDSD_OBJS :=	$(PDSD_SRCS:%.c=$(OBJ)/%.o) $(OBJ)/pdsd/parse.o \
		$(OBJ)/pdsd/sql_embed.o
SIGNERD_OBJS :=	$(SIGNERD_SRCS:%.c=$(OBJ)/%.o)
PDSCTL_OBJS :=	$(PDSCTL_SRCS:%.c=$(OBJ)/%.o)
UNIT_BINS :=	$(UNIT_SRCS:tests/unit/%.c=$(OBJ)/tests/unit/%)

LIBCOMMON =	$(OBJ)/libcommon.a
LIBPDSD =	$(OBJ)/libpdsd.a
BINS =		$(O)/pdsd/pdsd $(O)/signerd/signerd $(O)/pdsctl/pdsctl

all: deps-check $(BINS)

$(OBJ)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNFLAGS) -MMD -MP -c -o $@ $<

$(OBJ)/pdsd/parse.c: pdsd/parse.y
	@mkdir -p $(@D)
	$(YACC) -o $@ pdsd/parse.y

# Generated code: warnings from the yacc skeleton are not ours.
$(OBJ)/pdsd/parse.o: $(OBJ)/pdsd/parse.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wall -Werror -Wno-unused-parameter \
	    -Wno-unused-but-set-variable -c -o $@ $<

$(OBJ)/pdsd/sql_embed.c: $(SQL) tools/embed-sql.sh
	@mkdir -p $(@D)
	sh tools/embed-sql.sh $(SQL) > $@.tmp && mv $@.tmp $@

$(OBJ)/pdsd/sql_embed.o: $(OBJ)/pdsd/sql_embed.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNFLAGS) -c -o $@ $<

# The Lexicon schemas in lexicons/, embedded as C strings.
$(OBJ)/common/lexicon_embed.c: $(LEXICONS) tools/embed-lexicons.sh
	@mkdir -p $(@D)
	sh tools/embed-lexicons.sh $(LEXICONS) > $@.tmp && mv $@.tmp $@

$(OBJ)/common/lexicon_embed.o: $(OBJ)/common/lexicon_embed.c
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNFLAGS) -c -o $@ $<

$(LIBCOMMON): $(COMMON_OBJS)
	rm -f $@
	ar rcs $@ $(COMMON_OBJS)

$(LIBPDSD): $(PDSD_OBJS)
	rm -f $@
	ar rcs $@ $(PDSD_OBJS)

$(O)/pdsd/pdsd: $(PDSD_OBJS) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(PDSD_OBJS) $(LIBCOMMON) $(LDLIBS)

$(O)/signerd/signerd: $(SIGNERD_OBJS) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(SIGNERD_OBJS) $(LIBCOMMON) $(LDLIBS)

$(O)/pdsctl/pdsctl: $(PDSCTL_OBJS) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(PDSCTL_OBJS) $(LIBCOMMON) $(LDLIBS)

$(OBJ)/tests/unit/%: tests/unit/%.c $(LIBPDSD) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNFLAGS) -Wno-missing-prototypes \
	    $(LDFLAGS) -o $@ $< $(LIBPDSD) $(LIBCOMMON) $(LDLIBS) -lcmocka

unit: $(UNIT_BINS)

# The sanitizer build lives in san/ with the same layout.
san: deps-check
	$(MAKE) O=san CC=clang NODEPS=1 \
	    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    LDFLAGS="-fsanitize=address,undefined" all unit

test: deps-check all unit san
	@sh tests/run.sh . san

test-plain: deps-check all unit
	@sh tests/run.sh .

run: deps-check all
	@mkdir -p var
	@echo "pdsd: http://127.0.0.1:2583/ (data in ./var, Ctrl-C stops)"
	./pdsd/pdsd -d

# libFuzzer targets: clang, ASan + UBSan, bounded time per target.
FUZZTIME ?=	20
FUZZ_CFLAGS =	-O1 -g -fsanitize=fuzzer-no-link,address,undefined
fuzz: deps-check
	$(MAKE) O=fuzzbuild CC=clang CFLAGS="$(FUZZ_CFLAGS)" NODEPS=1 \
	    $(FUZZ_SRCS:tests/fuzz/%.c=fuzzbuild/obj/tests/fuzz/%)
	@sh tests/fuzz/run.sh fuzzbuild $(FUZZTIME)

$(OBJ)/tests/fuzz/%: tests/fuzz/%.c $(LIBPDSD) $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -fsanitize=fuzzer,address,undefined \
	    -o $@ $< $(LIBPDSD) $(LIBCOMMON) $(LDLIBS)

bench: all
	@sh tests/bench/run.sh $(O)

deps:
	@sh tools/deps.sh install

# Sub-makes (san, fuzz) skip it: the top-level make has checked.
deps-check:
	@[ -n "$(NODEPS)" ] || sh tools/deps.sh check

lint:
	mandoc -Tlint -Wwarning $(MANS)

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8
	install -m 0755 pdsd/pdsd signerd/signerd pdsctl/pdsctl \
	    $(DESTDIR)$(SBINDIR)
	install -m 0644 man/pdsd.conf.5 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 man/pdsd.8 man/signerd.8 man/pdsctl.8 \
	    $(DESTDIR)$(MANDIR)/man8

clean:
	rm -rf obj san fuzzbuild $(BINS)

.PHONY: all unit san test test-plain run fuzz bench deps deps-check lint \
	install clean

-include $(COMMON_OBJS:.o=.d) $(PDSD_OBJS:.o=.d) $(SIGNERD_OBJS:.o=.d) \
	$(PDSCTL_OBJS:.o=.d)
