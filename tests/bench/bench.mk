# Read after the top Makefile by tests/bench/run.sh, so the benchmarks are
# built with the project's compiler, flags and libraries:
#	make -f Makefile -f tests/bench/bench.mk O=... $(O)/obj/tests/bench/X
# libpdsd.a is there for bench_repo (the daemon's SQLite repository
# store); the linker takes nothing from it that a program does not use.
$(OBJ)/tests/bench/%: tests/bench/%.c tests/bench/bench.h $(LIBPDSD) \
    $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNFLAGS) $(LDFLAGS) -o $@ $< \
	    $(LIBPDSD) $(LIBCOMMON) $(LDLIBS)
