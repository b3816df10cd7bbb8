# install.cmake - what `cmake --install` puts where: the library (shared, and
# static with llama.cpp inside), wim.h, wim.pc, the CMake package, the programs,
# the page, the default prompts, wim-mkmodel's tokenizers and the man pages.
include(CMakePackageConfigHelpers)

# The installed libwim.a: llama.cpp's static libraries folded in where they are
# static (an installed shared llama.cpp is named in wim.pc instead).
set(WIM_BUNDLE_LIBS $<TARGET_FILE:wim>)
set(WIM_PC_REQUIRES "")
get_target_property(WIM_LLAMA_LIB llama IMPORTED_LOCATION_RELEASE)
if(NOT WIM_LLAMA_LIB)
  get_target_property(WIM_LLAMA_LIB llama IMPORTED_LOCATION)
endif()
if(WIM_LLAMA_LIB MATCHES "\\.a$")
  list(APPEND WIM_BUNDLE_LIBS ${WIM_LIB_llama-common} ${WIM_LIB_llama-common-base}
    ${WIM_LIB_cpp-httplib} $<TARGET_FILE:llama>)
  foreach(g ggml ggml-base ${GGML_AVAILABLE_BACKENDS})
    list(APPEND WIM_BUNDLE_LIBS $<TARGET_FILE:ggml::${g}>)
  endforeach()
else()
  set(WIM_PC_REQUIRES llama)
endif()
set(WIM_PC_LIBS_PRIVATE "-lstdc++ -lm -lpthread")
set(WIM_CMAKE_LIBS_PRIVATE "stdc++;m")
if(GGML_OPENMP_ENABLED)
  string(APPEND WIM_PC_LIBS_PRIVATE " -lgomp")
  list(APPEND WIM_CMAKE_LIBS_PRIVATE gomp)
endif()
file(GENERATE OUTPUT ${CMAKE_BINARY_DIR}/install/bundle.txt CONTENT "$<JOIN:${WIM_BUNDLE_LIBS},\n>\n")
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/install/libwim.a
  COMMAND ${CMAKE_COMMAND} -DOUT=${CMAKE_BINARY_DIR}/install/libwim.a -DAR=${CMAKE_AR}
          -DLIST=${CMAKE_BINARY_DIR}/install/bundle.txt -P ${CMAKE_SOURCE_DIR}/cmake/bundle_static.cmake
  DEPENDS wim ${CMAKE_BINARY_DIR}/install/bundle.txt ${CMAKE_SOURCE_DIR}/cmake/bundle_static.cmake
  COMMENT "Bundling libwim.a with llama.cpp's static libraries")
add_custom_target(wim_bundle ALL DEPENDS ${CMAKE_BINARY_DIR}/install/libwim.a)

file(RELATIVE_PATH WIM_PC_UP /p/${CMAKE_INSTALL_LIBDIR}/pkgconfig /p)
configure_file(cmake/wim.pc.in ${CMAKE_BINARY_DIR}/install/wim.pc @ONLY)
set(WIM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/wim)
configure_package_config_file(cmake/wimConfig.cmake.in ${CMAKE_BINARY_DIR}/install/wimConfig.cmake
  INSTALL_DESTINATION ${WIM_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_BINARY_DIR}/install/wimConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)

install(TARGETS wim_shared EXPORT wimTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT dev)
install(EXPORT wimTargets NAMESPACE wim:: DESTINATION ${WIM_CMAKE_DIR} COMPONENT dev)
install(FILES ${CMAKE_BINARY_DIR}/install/libwim.a DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT dev)
install(FILES include/wim.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT dev)
install(FILES ${CMAKE_BINARY_DIR}/install/wim.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT dev)
install(FILES ${CMAKE_BINARY_DIR}/install/wimConfig.cmake
  ${CMAKE_BINARY_DIR}/install/wimConfigVersion.cmake DESTINATION ${WIM_CMAKE_DIR} COMPONENT dev)

install(TARGETS wim-cli wim-server wim-eval wim-mkmodel RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# where the installed programs look first (tools/common/datadir.c): share/wim/
set(WIM_SHARE ${CMAKE_INSTALL_DATADIR}/wim)
install(DIRECTORY web/ DESTINATION ${WIM_SHARE}/web)
install(DIRECTORY templates/ DESTINATION ${WIM_SHARE}/templates)
# the tokenizers and chat templates wim-mkmodel's families name (families.c says which)
file(STRINGS tools/mkmodel/families.c WIM_FAMILY_FILES REGEX "\\.(vocab|template)_file = \"")
foreach(line ${WIM_FAMILY_FILES})
  string(REGEX MATCH "\\.(vocab|template)_file = \"([^\"]+)\"" _ "${line}")
  if(CMAKE_MATCH_1 STREQUAL "vocab")
    install(FILES ${WIM_VOCAB_DIR}/${CMAKE_MATCH_2} DESTINATION ${WIM_SHARE}/vocab)
  else()
    install(FILES ${WIM_VOCAB_DIR}/templates/${CMAKE_MATCH_2}.jinja
      DESTINATION ${WIM_SHARE}/vocab/templates)
  endif()
endforeach()
install(DIRECTORY docs/man/ DESTINATION ${CMAKE_INSTALL_MANDIR} FILES_MATCHING PATTERN "*.[13]")

# A Debian package of all of it (cpack -G DEB in the build folder), its
# dependencies computed by dpkg-shlibdeps from what the programs and libwim.so link.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME wim)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
  "Writing in the Margins: questions over long documents with local GGUF models")
set(CPACK_PACKAGE_CONTACT "wim developers <wim@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION text)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE gzip) # xz took a minute more in CI
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEB_COMPONENT_INSTALL OFF)
include(CPack)
