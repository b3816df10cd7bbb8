# bundle_static.cmake - one static archive of several (cmake -DOUT= -DAR= -DLIST=file -P, the
# file naming the archives one a line):
# the installed libwim.a with llama.cpp's static libraries inside, so that a
# program links it with the system libraries wim.pc names and nothing of llama.cpp.
file(STRINGS ${LIST} LIBS)
set(script "CREATE ${OUT}.tmp\n")
foreach(lib ${LIBS})
  string(APPEND script "ADDLIB ${lib}\n")
endforeach()
string(APPEND script "SAVE\nEND\n")
file(WRITE ${OUT}.mri "${script}")
execute_process(COMMAND ${AR} -M INPUT_FILE ${OUT}.mri RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bundle_static: ${AR} -M failed for ${OUT}")
endif()
file(RENAME ${OUT}.tmp ${OUT})
