# vcsim, govmomi's vCenter simulator, for the vSphere client and provider tests:
# builds Ferry's launcher (tools/vcsim) against the pinned govmomi simulator when
# missing or changed, and exports FERRY_VCSIM with the binary's path.
if ferry_vcsim_bin=$(tools/vcsim/build.sh); then
    export FERRY_VCSIM="$ferry_vcsim_bin"
else
    echo "set-up: building vcsim failed; the vSphere tests will fail until it builds" >&2
fi
unset ferry_vcsim_bin
