# Read after the top Makefile by tests/bench/run.sh, so the benchmark is
# built with the project's compiler, flags and libraries:
#	make -f Makefile -f tests/bench/bench.mk O=... $(O)/obj/tests/bench/X
$(OBJ)/tests/bench/%: tests/bench/%.c $(LIBCOMMON)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARNFLAGS) $(LDFLAGS) -o $@ $< \
	    $(LIBCOMMON) $(LDLIBS)
